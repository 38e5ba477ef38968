import type { TokenConfig } from '../config/index.js';
import type { DecodedToken } from '../tokens/index.js';
import { type RenewReason, renewReason } from './policy.js';

/** A selected token and what the file on disk said about it. */
export interface Candidate {
  token: TokenConfig;
  /** Why it must be renewed; undefined when it is fresh. */
  reason: RenewReason | undefined;
  /** `exp` of the token on disk, if it has one. */
  currentExp: number | undefined;
  /** `iat` of the token on disk, if it has one. */
  currentIat?: number | undefined;
  /** The token file's identity when it was read ('absent' when there was none). */
  identity?: string | undefined;
  /** Owner and group resolved to ids by the preflight. */
  ids?: { uid?: number; gid?: number };
}

/** What was read of a token file: the token, or why there is none to judge. */
export type CurrentToken = DecodedToken | 'missing' | 'unreadable';

/** The decision for one token from what was read of its file. Pure. */
export function planToken(
  token: TokenConfig,
  current: CurrentToken,
  now: number,
  force: boolean | undefined,
  identity?: string,
): Candidate {
  const currentExp = typeof current === 'object' ? current.claims.exp : undefined;
  const iat = typeof current === 'object' ? current.claims.iat : undefined;
  return {
    token,
    reason: renewReason(current, token, now, force),
    currentExp,
    ...(typeof iat === 'number' ? { currentIat: iat } : {}),
    identity,
  };
}

/** The expiry and issue time of a candidate's token on disk, as an outcome carries them. */
export function timesOnDisk(c: Candidate): { expiresAt: number | undefined; issuedAt?: number } {
  return { expiresAt: c.currentExp, ...(c.currentIat === undefined ? {} : { issuedAt: c.currentIat }) };
}

/** Fresh and due candidates, each in input order. Pure. */
export function splitPlan(candidates: readonly Candidate[]): { fresh: Candidate[]; due: Candidate[] } {
  const fresh: Candidate[] = [];
  const due: Candidate[] = [];
  for (const c of candidates) (c.reason === undefined ? fresh : due).push(c);
  return { fresh, due };
}

/**
 * The work per account: each account's due candidates (in input order), then, with no due tokens,
 * the accounts that only have fresh ones (to check that they can still renew). Pure.
 */
export function planAccounts(
  due: readonly Candidate[],
  freshAccounts: Iterable<string>,
): Array<[string, Candidate[]]> {
  const byAccount = new Map<string, Candidate[]>();
  for (const c of due) {
    const list = byAccount.get(c.token.account) ?? [];
    list.push(c);
    byAccount.set(c.token.account, list);
  }
  const work: Array<[string, Candidate[]]> = [...byAccount];
  for (const name of new Set(freshAccounts)) if (!byAccount.has(name)) work.push([name, []]);
  return work;
}

/**
 * The warning for a token renewed on every run: its min_lifetime is at least the lifetime the issuer
 * grants (exp - iat of the token just written). Pure.
 */
export function minLifetimeWarning(
  token: Pick<TokenConfig, 'name' | 'minLifetime'>,
  claims: { iat?: unknown; exp?: unknown },
): string | undefined {
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return undefined;
  const lifetime = claims.exp - claims.iat;
  if (lifetime <= 0 || token.minLifetime < lifetime) return undefined;
  return (
    `[token ${token.name}]: min_lifetime = ${token.minLifetime} is at least the lifetime of the tokens ` +
    `the issuer grants (${lifetime} s), so it is renewed on every run; set min_lifetime below ${lifetime}`
  );
}
