import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, readFileWithIdentitySync, writeFileAtomic } from '../files/index.js';

/** What `status` shows for one token; written by every renewal attempt (never holds a secret). */
export type TokenState = 'ok' | 'renewing' | 'failing' | 'needs-login';

export interface TokenStatus {
  token: string;
  account: string;
  path: string;
  state: TokenState;
  /** The config.ini whose run wrote this entry: a state directory may be shared by several configs. */
  config?: string | undefined;
  lastAttempt?: string | undefined;
  lastRenewal?: string | undefined;
  lastError?: string | undefined;
  lastErrorCode?: string | undefined;
  expiresAt?: number | undefined;
}

/** What the last decryption of an account's credential found. */
export type CredentialVerdictKind = 'ok' | 'needs-login' | 'decrypt-failed';

/**
 * The verdict of the last decryption of one credential file, with the identities (see fileIdentity) of
 * the credential file and of the password file it was decrypted with. While both identities are
 * unchanged the verdict still holds, so a run whose tokens are all fresh can say an account needs
 * attention without paying the key derivation again.
 */
export interface CredentialVerdict {
  credentialFile: string;
  credentialIdentity: string;
  passwordFile: string;
  passwordIdentity: string;
  verdict: CredentialVerdictKind;
  /** The error renew reports while the verdict holds (never a secret). */
  code?: string | undefined;
  message?: string | undefined;
  hint?: string | undefined;
  at: string;
}

/** `status/<ACCOUNT>.json`: the last attempt of each of the account's tokens. */
export interface AccountStatusFile {
  account: string;
  tokens: Record<string, TokenStatus>;
  /** By credential file path (two configs may name the same account with different files). */
  credentials?: Record<string, CredentialVerdict>;
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

/**
 * The account's whole status file (empty when there is none or it is unreadable). `local`: the status
 * directory is on a local filesystem (files/ onLocalDisk), so the file is read without the thread pool.
 */
export async function readAccountStatusFile(
  stateDir: string,
  account: string,
  local = false,
): Promise<AccountStatusFile> {
  const empty: AccountStatusFile = { account, tokens: {} };
  const path = statusFile(stateDir, account);
  const text = local ? readStatusTextSync(path) : await readFileIfExists(path).catch(() => undefined);
  if (text === undefined) return empty;
  try {
    const parsed = JSON.parse(text) as Partial<AccountStatusFile>;
    const tokens = parsed.tokens && typeof parsed.tokens === 'object' ? parsed.tokens : {};
    const credentials =
      parsed.credentials && typeof parsed.credentials === 'object' ? parsed.credentials : undefined;
    return { account, tokens, ...(credentials ? { credentials } : {}) };
  } catch {
    return empty;
  }
}

function readStatusTextSync(path: string): string | undefined {
  try {
    return readFileWithIdentitySync(path)?.text;
  } catch {
    return undefined;
  }
}

/** The directory of the status files under `stateDir` (see statusFile). */
export function statusDirOf(stateDir: string): string {
  return statusDir(stateDir);
}

/** The recorded status of each token of `account` (empty when there is none or it is unreadable). */
export async function readAccountStatus(
  stateDir: string,
  account: string,
): Promise<Record<string, TokenStatus>> {
  return (await readAccountStatusFile(stateDir, account)).tokens;
}

/**
 * The entry holds for `config` when that config wrote it (entries written before the config was recorded
 * are taken as its own).
 */
export function isEntryOf(entry: { config?: string | undefined }, config: string): boolean {
  return entry.config === undefined || entry.config === config;
}

/**
 * A failed attempt keeps the last success on record: `status` must still say when the token on disk was
 * written and when it expires. So does a success that renewed nothing (a fresh token found, clearing a
 * failure). An entry another config wrote is replaced, never merged.
 */
export function mergeTokenStatus(previous: TokenStatus | undefined, next: TokenStatus): TokenStatus {
  if (previous === undefined) return next;
  if (next.config !== undefined && !isEntryOf(previous, next.config)) return next;
  return {
    ...next,
    lastRenewal: next.lastRenewal ?? previous.lastRenewal,
    expiresAt: next.expiresAt ?? previous.expiresAt,
  };
}

/** Status directories this process has made sure of: one mkdir per run, not one per write. */
const madeDirs = new Set<string>();

/**
 * Merges `updates` (and credential `verdicts`) into the account's status file (read just before the
 * write, so that the window for a concurrent writer is as small as it can be; renew writes it under the
 * account's lock). Non-durable: status is informational, and a crash loses at most the last attempt's
 * record.
 */
export async function updateAccountStatus(
  stateDir: string,
  account: string,
  updates: readonly TokenStatus[],
  verdicts: readonly CredentialVerdict[] = [],
): Promise<void> {
  if (updates.length === 0 && verdicts.length === 0) return;
  const dir = statusDir(stateDir);
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    madeDirs.add(dir);
  }
  const file = await readAccountStatusFile(stateDir, account);
  for (const u of updates) file.tokens[u.token] = mergeTokenStatus(file.tokens[u.token], u);
  if (verdicts.length > 0) {
    file.credentials ??= {};
    for (const v of verdicts) file.credentials[v.credentialFile] = v;
  }
  await writeFileAtomic(statusFile(stateDir, account), `${JSON.stringify(file)}\n`, {
    mode: 0o600,
    durable: false,
  });
}
