import type { JWTPayload } from 'jose';
import { TokenwardenError } from '../errors.js';

export interface DecodedToken {
  header: Record<string, unknown>;
  claims: JWTPayload & Record<string, unknown>;
  /** Audience as a list (the `aud` claim may be a string or an array). */
  audience: string[];
  /** Scopes from `scope` (space-separated, WLCG/SciTokens) or `scp` (array). */
  scope: string[];
}

/**
 * Decodes a compact JWS without verifying it (verification needs the issuer's keys: `inspect --verify`).
 * The error never contains the token: a token is a secret.
 */
export function decodeToken(token: string): DecodedToken {
  const compact = token.trim();
  let header: Record<string, unknown>;
  let claims: JWTPayload & Record<string, unknown>;
  try {
    const parts = compact.split('.');
    if (parts.length !== 3) throw new Error('not three parts');
    header = decodePart(parts[0] as string, 'header');
    claims = decodePart(parts[1] as string, 'claims') as JWTPayload & Record<string, unknown>;
  } catch (cause) {
    throw new TokenwardenError(
      'TOKEN_INVALID',
      'not a JWT (expected three base64url parts with JSON claims)',
      {
        cause: cause instanceof Error ? new Error(cause.message) : undefined,
      },
    );
  }
  checkDepth(claims, 'claims');
  checkDepth(header, 'header');
  for (const name of TIME_CLAIMS) checkTime(claims, name);
  return { header, claims, audience: audienceOf(claims), scope: scopeOf(claims) };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** What atob's forgiving base64 drops (ASCII whitespace), and the base64 alphabet it then requires. */
const ASCII_WHITESPACE = /[\t\n\f\r ]/g;
const BASE64 = /^[A-Za-z0-9+/]*$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * One base64url part of a compact JWS as a JSON object, accepting exactly what jose's decodeJwt and
 * decodeProtectedHeader accept on Node (its atob path: no `+` or `/`, whitespace dropped, padding
 * allowed, strict UTF-8, a JSON object): it was what decoded token files before, and a file it refused
 * must stay refused (then the token is due). jose's own modules are not loaded for it: seven files to
 * read `exp`, on every run of `renew`. Throws on anything else; the caller keeps the message generic.
 */
function decodePart(part: string, what: string): Record<string, unknown> {
  if (part === '' || part.includes('+') || part.includes('/')) throw new Error(`bad ${what} encoding`);
  let bytes: Buffer;
  if (BASE64URL.test(part) && part.length % 4 !== 1) {
    // What every issuer writes: unpadded base64url, nothing to drop, decoded as it is.
    bytes = Buffer.from(part, 'base64url');
  } else {
    // atob's "forgiving-base64 decode" (WHATWG Infra), on the base64 alphabet.
    let data = part.replace(/-/g, '+').replace(/_/g, '/').replace(ASCII_WHITESPACE, '');
    if (data.length % 4 === 0) data = data.replace(/==?$/, '');
    if (data.length % 4 === 1 || !BASE64.test(data)) throw new Error(`bad ${what} encoding`);
    bytes = Buffer.from(data, 'base64');
  }
  const value: unknown = JSON.parse(STRICT_UTF8.decode(bytes));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${what} not an object`);
  return value as Record<string, unknown>;
}

/** Deeper than any real token nests its claims (WLCG and SciTokens claims are flat or one level). */
export const MAX_CLAIM_DEPTH = 64;
/** 9999-12-31T23:59:59Z: the last second a date can be shown in ISO 8601 with a four-digit year. */
export const MAX_TIME_CLAIM = 253402300799;
const TIME_CLAIMS = ['exp', 'iat', 'nbf'] as const;

/** Refuses JSON nested deeper than MAX_CLAIM_DEPTH, walked without recursion. */
function checkDepth(value: unknown, part: string): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_CLAIM_DEPTH) {
      throw new TokenwardenError(
        'TOKEN_INVALID',
        `not a usable JWT: its ${part} nest deeper than ${MAX_CLAIM_DEPTH} levels`,
      );
    }
    for (const child of Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}

/** `exp`, `iat` and `nbf` are NumericDate (RFC 7519 section 2): seconds since 1970, here up to year 9999. */
function checkTime(claims: Record<string, unknown>, name: (typeof TIME_CLAIMS)[number]): void {
  const v = claims[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIME_CLAIM) {
    const shown = typeof v === 'number' ? String(v) : typeof v;
    throw new TokenwardenError(
      'TOKEN_INVALID',
      `not a usable JWT: claim ${name} = ${shown} is not a time (seconds since 1970, at most ${MAX_TIME_CLAIM}, the end of year 9999)`,
    );
  }
}

export function audienceOf(claims: JWTPayload): string[] {
  if (typeof claims.aud === 'string') return [claims.aud];
  if (Array.isArray(claims.aud)) return claims.aud.filter((a): a is string => typeof a === 'string');
  return [];
}

export function scopeOf(claims: Record<string, unknown>): string[] {
  if (typeof claims.scope === 'string') return splitList(claims.scope);
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

/** Splits a space-separated list (RFC 6749 section 3.3 scope syntax), dropping empty items. */
export function splitList(value: string): string[] {
  return value.split(/\s+/).filter((s) => s.length > 0);
}
