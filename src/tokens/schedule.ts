import { OAuthError, TokenwardenError } from '../errors.js';

/**
 * When a long-running service renews a token and how it retries: pure functions of their inputs (no
 * clock read, no timer; the random source is passed in), so that the daemon's timers and the tests
 * agree on every number.
 */

export interface RenewalPolicy {
  /** Seconds that must remain when the token is renewed at the latest (config.ini `min_lifetime`). */
  minLifetime: number;
  /** Renew no later than this fraction of the token's lifetime after it was issued (0.5 by default). */
  fraction: number;
  /** Largest random amount (seconds) taken off the renewal time, so tokens issued together spread out. */
  jitter: number;
}

export const DEFAULT_RENEWAL_FRACTION = 0.5;

/**
 * The time (epoch seconds) at which a token with these `exp` and `iat` claims is renewed:
 * `max(exp − min_lifetime, iat + fraction × (exp − iat))`, minus a random jitter in `[0, jitter]`, and
 * never before `iat`. Taking the later of the two rules means a short-lived token is not renewed as soon
 * as it arrives when `min_lifetime` is close to (or above) its whole lifetime, while a long-lived one is
 * still renewed with `min_lifetime` to spare. Without `iat` only the `min_lifetime` rule applies.
 */
export function nextRenewalAt(
  token: { exp: number; iat?: number | undefined },
  policy: RenewalPolicy,
  rand: () => number,
): number {
  let at = token.exp - policy.minLifetime;
  const { iat } = token;
  if (iat !== undefined && iat < token.exp) {
    at = Math.max(at, iat + policy.fraction * (token.exp - iat));
  }
  at -= unit(rand) * Math.max(0, policy.jitter);
  if (iat !== undefined) at = Math.max(at, iat);
  return at;
}

export interface BackoffOptions {
  /** The delay of the first retry before jitter (seconds). */
  baseSeconds: number;
  /** No delay grows beyond this (seconds), except to honour a longer Retry-After. */
  capSeconds: number;
  /** What the issuer asked for (HTTP Retry-After, RFC 9110 section 10.2.3): never retried sooner. */
  retryAfterSeconds?: number | undefined;
  /**
   * 'full' (default): a uniform pick in `[0, min(cap, base × 2^(attempt−1))]`. 'decorrelated': a uniform
   * pick in `[base, 3 × previous]`, capped (needs `previousSeconds`, the delay chosen last time). Both
   * spread the retries of many clients that failed together, so an issuer coming back after an outage
   * is not met by all of them at once.
   */
  mode?: 'full' | 'decorrelated';
  previousSeconds?: number | undefined;
}

/**
 * The delay (seconds) before retry number `attempt` (1 for the first retry): capped exponential backoff
 * with jitter, never shorter than the issuer's Retry-After (and then spread after it by that jitter).
 */
export function backoff(attempt: number, opts: BackoffOptions, rand: () => number): number {
  const base = Math.max(0, opts.baseSeconds);
  const cap = Math.max(base, opts.capSeconds);
  let delay: number;
  if (opts.mode === 'decorrelated') {
    const previous = Math.max(base, opts.previousSeconds ?? base);
    const high = Math.min(cap, previous * 3);
    delay = base + unit(rand) * Math.max(0, high - base);
  } else {
    // 2^(attempt-1), without overflowing to Infinity for a very long outage.
    const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), 52);
    delay = unit(rand) * Math.min(cap, base * 2 ** exponent);
  }
  const retryAfter = opts.retryAfterSeconds;
  // Never sooner than the issuer's Retry-After, and spread after it by the jitter just drawn: every
  // client told "120 s" must not come back in the same second.
  if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter > delay)
    delay = retryAfter + delay;
  return delay;
}

/** OAuth error codes (RFC 6749 section 5.2 and 4.1.2.1, RFC 8628 section 3.5) that say "try again later". */
const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);

/**
 * Whether a failed attempt is worth retrying by itself: timeouts, network failures, HTTP 408, 429 and 5xx,
 * and unusable answers (a proxy's error page) are; an answer about the credential (`invalid_grant`,
 * `invalid_client`, `invalid_scope`), a configuration mistake, a missing credential or one that does not
 * decrypt are not: retrying them only repeats the failure (and, for a refused refresh token, sends it
 * again).
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof TokenwardenError)) return false;
  const status = err.httpStatus;
  if (status !== undefined && (status === 408 || status === 429 || status >= 500)) return true;
  if (err instanceof OAuthError) return TRANSIENT_OAUTH_ERRORS.has(err.error);
  return err.code === 'NETWORK' || err.code === 'TIMEOUT' || err.code === 'ISSUER_RESPONSE';
}

/** `rand()` kept inside [0, 1], whatever the source returns. */
function unit(rand: () => number): number {
  const r = rand();
  return Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
}
