import type { DecodedToken } from '../tokens/index.js';

/** Why a token file must be renewed, or undefined when it can stay. Pure. */
export type RenewReason =
  | 'missing'
  | 'unreadable'
  | 'no-expiry'
  | 'expiring'
  | 'audience'
  | 'scope'
  | 'forced';

export interface Wanted {
  audience: readonly string[];
  scope: readonly string[];
  /** Seconds that must remain (osg-token-renewer's `min_lifetime`). */
  minLifetime: number;
}

/**
 * Decides whether the token on disk still serves: it must exist, decode, have more than `minLifetime`
 * seconds left, and carry every audience and scope the config asks for (so a changed config takes effect
 * on the next run instead of when the old token expires).
 */
export function renewReason(
  current: DecodedToken | 'missing' | 'unreadable',
  wanted: Wanted,
  now: number,
  force = false,
): RenewReason | undefined {
  if (force) return 'forced';
  if (current === 'missing' || current === 'unreadable') return current;
  const exp = current.claims.exp;
  if (typeof exp !== 'number') return 'no-expiry';
  if (exp - now <= wanted.minLifetime) return 'expiring';
  if (!isSubset(wanted.audience, current.audience)) return 'audience';
  if (!isSubset(wanted.scope, current.scope)) return 'scope';
  return undefined;
}

function isSubset(wanted: readonly string[], have: readonly string[]): boolean {
  const set = new Set(have);
  return wanted.every((w) => set.has(w));
}

/**
 * A new token may replace the old one only if it lives at least as long (docs/architecture.md invariant 3).
 * Tokens without `exp` compare as never expiring.
 */
export function isNoWorse(candidateExp: number | undefined, currentExp: number | undefined): boolean {
  if (currentExp === undefined) return true;
  if (candidateExp === undefined) return true;
  return candidateExp >= currentExp;
}
