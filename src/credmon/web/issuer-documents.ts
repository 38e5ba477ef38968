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

/** An issuer identifier compared as relying parties build URLs from it: without a trailing `/`. */
export function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/**
 * The local providers whose tokens this app's `.well-known` documents describe: the issuer served is
 * the first local provider's `LOCAL_CREDMON_ISSUER` (one web app answers one discovery document), and
 * every local provider with that same issuer has its public key in the JWKS, so tokens signed with any
 * of their keys (each its own `kid`) verify. Local providers with another issuer are not served here.
 */
export function servedLocalProviders(locals: readonly LocalProviderConfig[]): LocalProviderConfig[] {
  const first = locals[0];
  if (first === undefined) return [];
  return locals.filter((l) => sameIssuer(l.issuer, first.issuer));
}

/** The JWKS of several local providers of one issuer: every key once (providers may share a key file). */
export async function readIssuersJwks(locals: readonly LocalProviderConfig[]): Promise<{ keys: JWK[] }> {
  const keys: JWK[] = [];
  const seen = new Set<string>();
  for (const local of locals) {
    for (const key of (await readIssuerJwks(local)).keys) {
      const id = JSON.stringify(key);
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push(key);
    }
  }
  return { keys };
}

/** Discovery (RFC 8414 / OIDC Discovery) for the local issuer: its `iss` and where its keys are. */
export function issuerDiscovery(local: LocalProviderConfig, jwksUri: string): IssuerDocuments['discovery'] {
  return discoveryDocument(local.issuer, { jwksUri });
}
