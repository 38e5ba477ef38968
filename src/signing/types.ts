import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** The JWS algorithms a local issuer signs with: ES256 (P-256, the default everywhere) or RS256. */
export type SigningAlg = 'ES256' | 'RS256';

export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];

/** A private signing key, loaded and checked, with the public JWK that a JWKS document publishes. */
export interface SigningKey {
  readonly alg: SigningAlg;
  /** The JWS `kid` header, and the JWK's `kid`. */
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The public half as a JWK, with `kid`, `alg` and `use: 'sig'`. */
  readonly publicJwk: JWK;
}

/** What one token says. Times are epoch seconds, given by the caller (an injected clock). */
export interface MintRequest {
  /** `iss`: the issuer URL whose discovery document and JWKS verifiers fetch. */
  issuer: string;
  /** `sub`: the user. */
  subject: string;
  /** `scope`: space-separated scopes (`read:/user/alice`, `storage.read:/data`). */
  scope: string;
  /** `aud`, always written as a JSON array; omitted when empty. */
  audience: readonly string[];
  /** `exp - iat`. */
  lifetimeSeconds: number;
  /**
   * The profile, as HTCondor's `LOCAL_CREDMON_TOKEN_VERSION` says it: `scitoken:2.0` (the default
   * there) gives `ver: "scitoken:2.0"`; `wlcg` or `wlcg:1.0` gives `"wlcg.ver": "1.0"`; any other
   * non-empty text is the `ver` claim as given; `''` writes neither.
   */
  version: string;
  /** `iat` and `nbf`. */
  nowSeconds: number;
  /** `jti`; a random UUID when absent. */
  jti?: string | undefined;
  /** More claims (e.g. `wlcg.groups`); they may not replace any of the claims above. */
  extraClaims?: Record<string, unknown> | undefined;
}
