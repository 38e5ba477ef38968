import { decodeToken } from '../tokens/decode.js';

/**
 * When a refresh token expires at the issuer, as far as one refresh grant says: the daemon warns ahead
 * of it (web/warnings.ts `refresh-token-expiring`), since only a new login helps once it has passed.
 */
export interface RefreshTokenExpiry {
  /** Epoch seconds; undefined when nothing usable was said, or the issuer says it does not expire. */
  expiresAt: number | undefined;
  /**
   * Where it came from: the response's `refresh_expires_in` (Keycloak), the refresh token's own `exp`
   * (a JWT: Keycloak, INDIGO IAM), or neither (an opaque token from an issuer that says nothing).
   */
  source: 'response' | 'jwt' | 'none';
}

/** One refresh grant's word on the refresh token the account now holds. */
export interface RefreshTokenNews extends RefreshTokenExpiry {
  /** The grant rotated the refresh token: what was known of the one before no longer holds. */
  rotated: boolean;
}

/** Longer than any issuer keeps a refresh token: a larger lifetime or `exp` is a mistake, not a date. */
export const MAX_REFRESH_TOKEN_LIFETIME_SECONDS = 10 * 366 * 24 * 3600;

/**
 * Longer than any JWT refresh token seen (Keycloak's are about 1 KB): a longer string is not decoded at
 * all, so a hostile or broken issuer cannot make every renewal parse megabytes.
 */
export const MAX_DECODED_REFRESH_TOKEN_LENGTH = 16 * 1024;

/**
 * The refresh token's expiry (pure; `now` in epoch seconds, the time of the response):
 * - `refresh_expires_in` of the token response, seconds from the response (Keycloak): a positive finite
 *   number gives now + it; `0` is Keycloak's "does not expire" (offline tokens), so no expiry; anything
 *   else (not a number, negative, more than MAX_REFRESH_TOKEN_LIFETIME_SECONDS) is ignored;
 * - else the `exp` of the refresh token itself when it is a JWT (decoded without verification: only the
 *   issuer reads it, and a wrong date costs no more than a wrong warning);
 * - else nothing: an opaque token (oidc-provider, INDIGO IAM's opaque ones) says nothing of itself.
 * The token is never put into an error or a log: whatever fails to decode is simply opaque.
 */
export function refreshTokenExpiry(
  refreshExpiresIn: unknown,
  refreshToken: string,
  now: number,
): RefreshTokenExpiry {
  if (typeof refreshExpiresIn === 'number' && Number.isFinite(refreshExpiresIn)) {
    if (refreshExpiresIn === 0) return { expiresAt: undefined, source: 'response' };
    if (refreshExpiresIn > 0 && refreshExpiresIn <= MAX_REFRESH_TOKEN_LIFETIME_SECONDS) {
      return { expiresAt: Math.floor(now + refreshExpiresIn), source: 'response' };
    }
  }
  const exp = jwtExp(refreshToken);
  if (exp !== undefined && exp > 0 && exp - now <= MAX_REFRESH_TOKEN_LIFETIME_SECONDS) {
    return { expiresAt: exp, source: 'jwt' };
  }
  return { expiresAt: undefined, source: 'none' };
}

/** The `exp` claim of a JWT-shaped token, or undefined for anything else (opaque, too long, malformed). */
function jwtExp(token: string): number | undefined {
  if (token.length > MAX_DECODED_REFRESH_TOKEN_LENGTH) return undefined;
  // Three dot-separated parts, or it is not worth a decode attempt.
  if (token.split('.', 4).length !== 3) return undefined;
  try {
    const exp = decodeToken(token).claims.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? Math.floor(exp) : undefined;
  } catch {
    // Not a JWT after all: an opaque token. decodeToken's error never holds the token; it is dropped anyway.
    return undefined;
  }
}

/**
 * What is known of an account's refresh token's expiry after a refresh grant's news (pure): the news
 * when the grant said something or rotated the token; else (an opaque token kept as it was, by an issuer
 * that says nothing) what was known before, which still holds for the same token.
 */
export function nextRefreshTokenExpiresAt(
  known: number | undefined,
  news: RefreshTokenNews,
): number | undefined {
  return news.source !== 'none' || news.rotated ? news.expiresAt : known;
}

/**
 * The news of two refresh grants made one after the other (one session renewing several tokens of an
 * account), as one: applied to what was known before both, it gives what applying each in turn gives.
 */
export function combineRefreshTokenNews(
  earlier: RefreshTokenNews | undefined,
  later: RefreshTokenNews,
): RefreshTokenNews {
  if (earlier === undefined) return later;
  if (later.source === 'none' && !later.rotated) return earlier;
  return { ...later, rotated: earlier.rotated || later.rotated };
}
