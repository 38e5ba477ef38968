import type { Secret } from '../secret.js';

/** How the client authenticates at the token endpoint (RFC 6749 section 2.3, OIDC Core section 9). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** How a down-scoped audience is asked for: WLCG IAM's `audience=` or RFC 8707 `resource=`. */
export type AudienceParam = 'audience' | 'resource';

export interface ClientSpec {
  /** Issuer identifier (used for discovery unless tokenEndpoint is given). */
  issuer: string;
  clientId: string;
  clientSecret?: Secret | undefined;
  authMethod?: ClientAuthMethod | undefined;
  /** Skip discovery and talk to this token endpoint (osg-token-renewer's `token_request_url`). */
  tokenEndpoint?: string | undefined;
  /** With tokenEndpoint: the authorization endpoint, for a code flow without discovery (HTCondor's `<P>_AUTHORIZATION_URL`). */
  authorizationEndpoint?: string | undefined;
}

/** Per-call settings: every network call has a deadline (docs/architecture.md invariant 4). */
export interface RequestContext {
  /** Seconds before one HTTP request is abandoned. */
  timeoutSeconds: number;
  /** Aborts everything in flight (e.g. the run's deadline). */
  signal?: AbortSignal | undefined;
  /** Injected fetch (tests, instrumentation); the global one otherwise. */
  fetch?: typeof fetch | undefined;
}

/** A token endpoint response (RFC 6749 section 5.1) with its secrets wrapped. */
export interface TokenResponse {
  accessToken: Secret;
  refreshToken?: Secret | undefined;
  tokenType: string;
  expiresIn?: number | undefined;
  scope?: string | undefined;
  /** The remaining non-secret members of the response (for the credmon's `.use` files and debugging). */
  extra: Record<string, unknown>;
}

/** What to ask for when a token is minted or refreshed. */
export interface TokenRequest {
  scope?: readonly string[] | undefined;
  audience?: readonly string[] | undefined;
  audienceParam?: AudienceParam | undefined;
}
