import { decodeToken } from '../tokens/index.js';

/**
 * When one credential of the credential directory is next due, from its own files: the pure rule of
 * the scan loop (a provider's `dueAt` may override it). HTCondor's starter pulls a fresh `.use` every
 * `SEC_CREDENTIAL_REFRESH` seconds (300), so a token is renewed early enough that the copy a job holds
 * always has at least two of those periods left, and never later than `renewFraction` of its lifetime.
 */

export interface UseFileFacts {
  /** The `.use` text, or undefined when there is none. */
  text: string | undefined;
  /** Its mtime, epoch milliseconds. */
  mtimeMs: number;
}

export interface DueInput {
  /** The `.top`'s mtime, epoch milliseconds. */
  topMtimeMs: number;
  use: UseFileFacts | undefined;
  renewFraction: number;
  credentialRefreshSeconds: number;
  /** Epoch milliseconds. */
  now: number;
}

/** The times of the token in a `.use`: from its JWT when it holds one, else its mtime + `expires_in`. */
export interface UseTimes {
  /** Epoch seconds. */
  issuedAt: number;
  expiresAt: number;
}

export interface Due {
  /** Epoch milliseconds; `now` when it is due at once. */
  at: number;
  /** Why it is due at once, for the status and the debug log. */
  reason: 'no-use' | 'top-newer' | 'unreadable-use' | 'expired' | 'schedule';
  times?: UseTimes | undefined;
}

/**
 * The times of a `.use` file: a JSON object with `access_token` (a JWT: its `iat`/`exp`) and
 * `expires_in` (seconds from the file's mtime when the token is opaque), or a bare `<JWT>\n` (the local
 * issuer with `TOKEN_USE_JSON = false`). Undefined when neither can be read.
 */
export function useFileTimes(text: string, mtimeMs: number): UseTimes | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const record = parsed as Record<string, unknown>;
    const fromJwt =
      typeof record.access_token === 'string' ? jwtTimes(record.access_token, mtimeMs) : undefined;
    if (fromJwt) return fromJwt;
    const expiresIn = Number(record.expires_in);
    if (!Number.isFinite(expiresIn) || expiresIn <= 0) return undefined;
    const issuedAt = Math.floor(mtimeMs / 1000);
    return { issuedAt, expiresAt: issuedAt + expiresIn };
  }
  return jwtTimes(trimmed, mtimeMs);
}

function jwtTimes(token: string, mtimeMs: number): UseTimes | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    const decoded = decodeToken(token);
    const exp = decoded.claims.exp;
    if (typeof exp !== 'number') return undefined;
    const iat = typeof decoded.claims.iat === 'number' ? decoded.claims.iat : Math.floor(mtimeMs / 1000);
    return { issuedAt: Math.min(iat, exp), expiresAt: exp };
  } catch {
    return undefined;
  }
}

/**
 * The loop's rule: at once when `.use` is missing, unreadable, expired, or older than `.top` (the
 * CredD or the web app dropped a new refresh token); else at `iat + renewFraction × lifetime`, brought
 * forward so that at least two starter pulls' worth of lifetime is left, but never before
 * `iat + renewFraction × lifetime / 2` (a token shorter than two pulls is not renewed in a loop).
 */
export function credentialDue(input: DueInput): Due {
  const { now, use } = input;
  if (use === undefined || use.text === undefined) return { at: now, reason: 'no-use' };
  if (input.topMtimeMs > use.mtimeMs) return { at: now, reason: 'top-newer' };
  const times = useFileTimes(use.text, use.mtimeMs);
  if (times === undefined) return { at: now, reason: 'unreadable-use' };
  return {
    at: renewalTime(times, input.renewFraction, input.credentialRefreshSeconds, now),
    reason: 'schedule',
    times,
  };
}

/** Epoch milliseconds at which a token of these times is renewed (at once when it has expired). */
export function renewalTime(
  times: UseTimes,
  renewFraction: number,
  credentialRefreshSeconds: number,
  now: number,
): number {
  const lifetime = Math.max(0, times.expiresAt - times.issuedAt);
  if (times.expiresAt * 1000 <= now) return now;
  const byFraction = times.issuedAt + renewFraction * lifetime;
  const byPulls = times.expiresAt - 2 * credentialRefreshSeconds;
  const floor = times.issuedAt + (renewFraction * lifetime) / 2;
  return Math.max(now, Math.round(Math.max(floor, Math.min(byFraction, byPulls)) * 1000));
}
