import type { Secret } from '../secret.js';

/** A cached access token and what it was issued for. */
export interface CachedToken {
  token: Secret;
  expiresAt: number;
  issuer: string;
  scope: string[];
  audience: string[];
}

/**
 * Access tokens per (account, audience set, scope set). Sets are normalized (sorted, deduplicated), so
 * `--aud "a b"` and `--aud "b a"` share one entry. Pure apart from the map.
 */
export class TokenCache {
  readonly #entries = new Map<string, CachedToken>();

  static key(account: string, audience: readonly string[], scope: readonly string[]): string {
    const norm = (xs: readonly string[]) => [...new Set(xs)].sort().join(' ');
    return JSON.stringify([account, norm(audience), norm(scope)]);
  }

  /** A token with at least `minValid` seconds left at `now`, if cached. */
  get(key: string, minValid: number, now: number): CachedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt - now <= minValid) return undefined;
    return entry;
  }

  set(key: string, token: CachedToken): void {
    this.#entries.set(key, token);
  }

  dropAccount(account: string): void {
    for (const k of this.#entries.keys())
      if ((JSON.parse(k) as string[])[0] === account) this.#entries.delete(k);
  }

  /** Forgets expired entries (called on every request; the map stays small). */
  sweep(now: number): void {
    for (const [k, v] of this.#entries) if (v.expiresAt <= now) this.#entries.delete(k);
  }
}
