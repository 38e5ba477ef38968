/**
 * The WLCG Common JWT Profile vocabulary the test issuer speaks: its scopes, its default audience and how
 * an audience request becomes an `aud` claim. Pure functions, no provider state.
 * https://github.com/WLCG-AuthZ-WG/common-jwt-profile/blob/master/profile.md
 */

/** The audience WLCG services accept from any issuer ("any" audience, profile section "aud"). */
export const DEFAULT_AUDIENCE = 'https://wlcg.cern.ch/jwt/v1/any';

/** The one resource server behind which every JWT access token of the test issuer is minted. */
export const RESOURCE_SERVER = DEFAULT_AUDIENCE;

export const WLCG_VERSION = '1.0';

/** Groups every test account belongs to (the profile's `wlcg.groups` claim). */
export const DEFAULT_GROUPS: readonly string[] = ['/wlcg', '/wlcg/test'];

/** OpenID Connect scopes the test issuer also answers to. */
const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];

/** WLCG scopes, in their unsuffixed form (the storage ones authorize the whole namespace, "/"). */
const WLCG_SCOPES = [
  'wlcg',
  'wlcg.groups',
  'storage.read:/',
  'storage.modify:/',
  'storage.create:/',
  'storage.stage:/',
  'compute.read',
  'compute.modify',
  'compute.create',
  'compute.cancel',
];

/** Every scope listed in discovery and accepted in client metadata (oidc-provider's `scopes`). */
export const STATIC_SCOPES: readonly string[] = [...OIDC_SCOPES, ...WLCG_SCOPES];

/**
 * Path-suffixed storage scopes (`storage.read:/data`) and group requests (`wlcg.groups:/wlcg/test`).
 * The path must be absolute and free of whitespace, quotes and backslashes (RFC 6749 section 3.3).
 */
const PATH_SCOPE = /^(storage\.(?:read|modify|create|stage)|wlcg\.groups):(\/[\x21\x23-\x5b\x5d-\x7e]*)$/;

const STATIC_SET = new Set(STATIC_SCOPES);

export function isStaticScope(scope: string): boolean {
  return STATIC_SET.has(scope);
}

/** Whether the test issuer knows `scope` at all: a static scope or a path-suffixed WLCG scope. */
export function isSupportedScope(scope: string): boolean {
  return STATIC_SET.has(scope) || PATH_SCOPE.test(scope);
}

/**
 * The static scope that authorizes a path-suffixed one (`storage.read:/data` → `storage.read:/`), the
 * scope itself if it is static, or undefined for an unknown scope.
 */
export function rootScopeOf(scope: string): string | undefined {
  if (STATIC_SET.has(scope)) return scope;
  const m = PATH_SCOPE.exec(scope);
  if (!m) return undefined;
  return m[1] === 'wlcg.groups' ? 'wlcg.groups' : `${m[1]}:/`;
}

/** Splits a space-separated list (a `scope` or `audience` parameter), dropping empty items. */
export function splitSpaced(value: string | undefined): string[] {
  return value ? value.split(' ').filter((s) => s.length > 0) : [];
}

/**
 * The `aud` claim for a requested audience list: one value stays a string, several become an array
 * (profile: "aud" is a string or an array of strings); nothing requested gives the default audience.
 */
export function audienceClaim(requested: readonly string[]): string | string[] {
  const unique = [...new Set(requested)];
  if (unique.length === 0) return DEFAULT_AUDIENCE;
  return unique.length === 1 ? (unique[0] as string) : unique;
}
