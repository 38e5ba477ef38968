import { createPublicKey } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { TokenwardenError } from '../../errors.js';
import { readFileIfExists } from '../../files/index.js';
import { discoveryDocument } from '../../signing/index.js';
import type { LocalProviderConfig } from '../config/types.js';

/**
 * The local issuer's public documents, served by the login web app as the Flask app serves them
 * (`/.well-known/openid-configuration` and `/.well-known/jwks-uri`), so that a relying party
 * (scitokens-cpp, XRootD) finds the key that signs the tokens the credmon mints. The Flask app crashes
 * here (`kid.decode` on a str); this one answers with the key of `LOCAL_CREDMON_PUBLIC_KEY`, its `kid`
 * (`LOCAL_CREDMON_KEY_ID`) and algorithm.
 */

export interface IssuerDocuments {
  discovery: Record<string, unknown>;
  jwks: { keys: JWK[] };
}

const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * The JWKS of the local issuer's public key file (the JWK members as src/signing publishes them). Read
 * from the public key, not the private one, so that `credmon --web-only` needs no access to the signing
 * key. Errors name the file and the knob.
 */
export async function readIssuerJwks(local: LocalProviderConfig): Promise<{ keys: JWK[] }> {
  const knob = 'LOCAL_CREDMON_PUBLIC_KEY';
  const pem = await readFileIfExists(local.publicKeyPath, { maxBytes: MAX_KEY_FILE_BYTES });
  if (pem === undefined)
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob}: the public key file ${local.publicKeyPath} does not exist (the credmon makes it at its first start)`,
    );
  let jwk: JWK;
  try {
    jwk = await exportJWK(createPublicKey(pem));
  } catch {
    throw new TokenwardenError('CONFIG_INVALID', `${knob}: ${local.publicKeyPath} is not a PEM public key`);
  }
  return { keys: [{ ...jwk, use: 'sig', alg: local.algorithm, kid: local.keyId }] };
}

/** Discovery (RFC 8414 / OIDC Discovery) for the local issuer: its `iss` and where its keys are. */
export function issuerDiscovery(local: LocalProviderConfig, jwksUri: string): IssuerDocuments['discovery'] {
  return discoveryDocument(local.issuer, { jwksUri });
}
