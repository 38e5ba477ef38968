import type { JWK } from 'jose';
import type { SigningKey } from './types.js';

/**
 * The path of the JWKS beside an issuer, as HTCondor's credmon web app serves it
 * (`/.well-known/jwks-uri`, linked from its discovery document): a credmon replacing it keeps the URL
 * that verifiers and storage may already have cached.
 */
export const JWKS_PATH = '/.well-known/jwks-uri';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** A JWK Set (RFC 7517 section 5) of the public halves of `keys`, in order. */
export function jwksDocument(keys: readonly SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}

/**
 * The discovery document of a local issuer (OpenID Connect Discovery 1.0 section 3, as scitokens-cpp and
 * XRootD read it: only `issuer` and `jwks_uri` matter to them, and they are all HTCondor's web app serves). `jwks_uri` defaults to
 * `<issuer>/.well-known/jwks-uri` (JWKS_PATH). A local issuer has no token endpoint.
 */
export function discoveryDocument(issuer: string, opts: { jwksUri?: string } = {}): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: opts.jwksUri ?? `${issuer.replace(/\/+$/, '')}${JWKS_PATH}`,
  };
}
