import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
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
    header = decodeProtectedHeader(compact) as Record<string, unknown>;
    claims = decodeJwt(compact) as JWTPayload & Record<string, unknown>;
  } catch (cause) {
    throw new TokenwardenError(
      'TOKEN_INVALID',
      'not a JWT (expected three base64url parts with JSON claims)',
      {
        cause: cause instanceof Error ? new Error(cause.message) : undefined,
      },
    );
  }
  return { header, claims, audience: audienceOf(claims), scope: scopeOf(claims) };
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
