import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../files/index.js';

/** What `status` shows for one token; written by every renewal attempt (never holds a secret). */
export type TokenState = 'ok' | 'renewing' | 'failing' | 'needs-login';

export interface TokenStatus {
  token: string;
  account: string;
  path: string;
  state: TokenState;
  lastAttempt?: string | undefined;
  lastRenewal?: string | undefined;
  lastError?: string | undefined;
  lastErrorCode?: string | undefined;
  expiresAt?: number | undefined;
}

/** `status/<ACCOUNT>.json`: the last attempt of each of the account's tokens. */
export interface AccountStatusFile {
  account: string;
  tokens: Record<string, TokenStatus>;
}

const NAME = /^[A-Za-z0-9._+=-]+$/;

function statusDir(stateDir: string): string {
  return join(stateDir, 'status');
}

/**
 * One small file per account, rewritten once per run of that account (under its lock), not once per
 * token: every file costs a create and a rename, and renew may handle thousands of tokens.
 */
export function statusFile(stateDir: string, account: string): string {
  const safe = NAME.test(account) ? account : encodeURIComponent(account);
  return join(statusDir(stateDir), `${safe}.json`);
}

/** The recorded status of each token of `account` (empty when there is none or it is unreadable). */
export async function readAccountStatus(
  stateDir: string,
  account: string,
): Promise<Record<string, TokenStatus>> {
  const text = await readFileIfExists(statusFile(stateDir, account)).catch(() => undefined);
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as Partial<AccountStatusFile>;
    return parsed.tokens && typeof parsed.tokens === 'object' ? parsed.tokens : {};
  } catch {
    return {};
  }
}

/**
 * A failed attempt keeps the last success on record: `status` must still say when the token on disk was
 * written and when it expires.
 */
export function mergeTokenStatus(previous: TokenStatus | undefined, next: TokenStatus): TokenStatus {
  if (next.state === 'ok' || previous === undefined) return next;
  return {
    ...next,
    lastRenewal: next.lastRenewal ?? previous.lastRenewal,
    expiresAt: next.expiresAt ?? previous.expiresAt,
  };
}

/** Status directories this process has made sure of: one mkdir per run, not one per write. */
const madeDirs = new Set<string>();

/**
 * Merges `updates` into the account's status file (read just before the write, so that the window for
 * a concurrent writer is as small as it can be; renew writes it under the account's lock). Non-durable:
 * status is informational, and a crash loses at most the last attempt's record.
 */
export async function updateAccountStatus(
  stateDir: string,
  account: string,
  updates: readonly TokenStatus[],
): Promise<void> {
  if (updates.length === 0) return;
  const dir = statusDir(stateDir);
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    madeDirs.add(dir);
  }
  const tokens = await readAccountStatus(stateDir, account);
  for (const u of updates) tokens[u.token] = mergeTokenStatus(tokens[u.token], u);
  const file: AccountStatusFile = { account, tokens };
  await writeFileAtomic(statusFile(stateDir, account), `${JSON.stringify(file)}\n`, {
    mode: 0o600,
    durable: false,
  });
}
