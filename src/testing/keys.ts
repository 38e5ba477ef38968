import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Keys of one test issuer, made at start and never written anywhere. */
export interface IssuerKeys {
  /** The provider's `jwks` option: one private signing key for `alg`. */
  jwks: { keys: JWK[] };
  /** The same key, public part only, for verifying this issuer's own tokens (token exchange). */
  publicJwks: { keys: JWK[] };
  /** The provider's `cookies.keys` option (signed cookies). */
  cookieKeys: string[];
}

/**
 * One signing key for `alg` (an EC P-256 key for ES256, RSA 2048 for RS256) and a random cookie key.
 * A single key keeps the advertised algorithms honest: oidc-provider lists exactly the algorithms its
 * keys can sign, so an ES256 issuer announces ES256 only.
 */
export async function generateIssuerKeys(alg: 'ES256' | 'RS256'): Promise<IssuerKeys> {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? await generateKeyPairAsync('ec', { namedCurve: 'P-256' })
      : await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg, use: 'sig' };
  return {
    jwks: { keys: [{ ...(privateKey.export({ format: 'jwk' }) as JWK), ...meta }] },
    publicJwks: { keys: [{ ...publicJwk, ...meta }] },
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
}
