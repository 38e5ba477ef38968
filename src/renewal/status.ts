import { mkdir, readdir } from 'node:fs/promises';
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

const NAME = /^[A-Za-z0-9._+=-]+$/;

function statusDir(stateDir: string): string {
  return join(stateDir, 'status');
}

/** One small file per token, so concurrent runs on different tokens never overwrite each other. */
export function statusFile(stateDir: string, token: string): string {
  const safe = NAME.test(token) ? token : encodeURIComponent(token);
  return join(statusDir(stateDir), `${safe}.json`);
}

/** Status directories this process has made sure of: one mkdir per run, not one per token. */
const madeDirs = new Set<string>();

export async function writeTokenStatus(stateDir: string, status: TokenStatus): Promise<void> {
  const dir = statusDir(stateDir);
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    madeDirs.add(dir);
  }
  await writeFileAtomic(statusFile(stateDir, status.token), `${JSON.stringify(status)}\n`, {
    mode: 0o600,
    durable: false,
  });
}

export async function readTokenStatus(stateDir: string, token: string): Promise<TokenStatus | undefined> {
  const text = await readFileIfExists(statusFile(stateDir, token));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as TokenStatus;
  } catch {
    return undefined;
  }
}

export async function listStatusFiles(stateDir: string): Promise<string[]> {
  try {
    return (await readdir(statusDir(stateDir))).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}
