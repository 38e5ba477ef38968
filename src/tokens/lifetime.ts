/** Lifetime arithmetic on token claims. All times are in whole seconds since the epoch. */

export interface TimeClaims {
  exp?: number | undefined;
  iat?: number | undefined;
  nbf?: number | undefined;
}

/** Seconds of validity left at `now` (negative once expired); undefined when the token has no `exp`. */
export function secondsLeft(claims: TimeClaims, now: number): number | undefined {
  return typeof claims.exp === 'number' ? claims.exp - now : undefined;
}

/** Total lifetime the issuer granted (exp - iat), when both are present. */
export function totalLifetime(claims: TimeClaims): number | undefined {
  return typeof claims.exp === 'number' && typeof claims.iat === 'number'
    ? claims.exp - claims.iat
    : undefined;
}

/** Human form of a duration: `1h 05m`, `4m 10s`, `expired 3m ago`. */
export function formatDuration(seconds: number): string {
  if (seconds < 0) return `expired ${formatDuration(-seconds)} ago`;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d ${String(h).padStart(2, '0')}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

export function nowSeconds(clock: () => number = Date.now): number {
  return Math.floor(clock() / 1000);
}
