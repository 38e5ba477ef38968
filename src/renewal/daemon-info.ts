import { mkdir, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { checkPathSafe, readFileIfExists, writeFileAtomic } from '../files/index.js';
import { CREDENTIAL_STATES, type StatusSnapshot } from '../web/status-model.js';

/**
 * How other processes find a running `tokenwarden daemon`: `STATE_DIR/daemon.json`, written once its
 * HTTP server is up and removed when it exits. `status` reads it to ask the daemon instead of the files.
 * It holds no secret (a pid, a URL, a path and a time), so it is written 0644.
 */
export interface DaemonInfo {
  pid: number;
  /** Base URL of the daemon's HTTP server, ending in `/` (for example `http://127.0.0.1:9464/`). */
  url: string;
  /** The config file it runs, as it was given (absolute). */
  config: string;
  /** When it started (epoch seconds). */
  startedAt: number;
}

export const DAEMON_INFO_FILE = 'daemon.json';

/** A daemon.json is a few hundred bytes; anything bigger is not one. */
const MAX_DAEMON_INFO_BYTES = 4096;

/** A snapshot of 10,000 tokens is a few MB; the bound stops a wrong server from filling memory. */
const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

export function daemonInfoPath(stateDir: string): string {
  return join(stateDir, DAEMON_INFO_FILE);
}

/**
 * Writes daemon.json atomically (mode 0644: no secret in it), replacing any left by a dead daemon. The
 * state directory is made (0700) when it does not exist yet, as a first renew would.
 */
export async function writeDaemonInfo(stateDir: string, info: DaemonInfo): Promise<void> {
  const checked = checkDaemonInfo(info);
  if (typeof checked === 'string') throw new TokenwardenError('INTERNAL', `daemon.json: ${checked}`);
  await checkPathSafe(stateDir, 'write');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(daemonInfoPath(stateDir), `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o644 });
}

/**
 * Removes daemon.json if it is still the one of `pid`: a second daemon started on the same state
 * directory has written its own since, and that one must stay. Returns whether it removed the file.
 */
export async function removeDaemonInfo(stateDir: string, pid: number): Promise<boolean> {
  const current = await readDaemonInfo(stateDir).catch(() => undefined);
  if (current?.pid !== pid) return false;
  try {
    await unlink(daemonInfoPath(stateDir));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * The daemon.json of `stateDir`, or undefined when there is none. Refused (FILE_UNSAFE) when reached
 * through a symlink or a directory another user planted (docs/architecture.md invariant 9); a file that
 * is not a daemon.json (too big, not JSON, wrong shape) is STORE_INVALID, naming what is wrong.
 */
export async function readDaemonInfo(stateDir: string): Promise<DaemonInfo | undefined> {
  const path = daemonInfoPath(stateDir);
  await checkPathSafe(path, 'read');
  let text: string | undefined;
  try {
    text = await readFileIfExists(path, { maxBytes: MAX_DAEMON_INFO_BYTES });
  } catch (err) {
    if (err instanceof TokenwardenError && err.code === 'FILE_IO') throw invalid(path, err.message);
    throw err;
  }
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(path, 'it is not JSON');
  }
  const checked = checkDaemonInfo(parsed);
  if (typeof checked === 'string') throw invalid(path, checked);
  return checked;
}

/** Whether a process with this pid exists (it may belong to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface FetchSnapshotOptions {
  /** The whole request, body included, ends after this (TIMEOUT). */
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * GET `${url}api/status` of a running daemon: its StatusSnapshot. Errors: TIMEOUT past the deadline,
 * NETWORK when it cannot be reached, STORE_INVALID for an answer that is not 200, not JSON, larger than
 * MAX_SNAPSHOT_BYTES or not a snapshot, naming what was wrong. The request carries no credential.
 */
export async function fetchDaemonSnapshot(
  info: Pick<DaemonInfo, 'url'>,
  options: FetchSnapshotOptions,
): Promise<StatusSnapshot> {
  const doFetch = options.fetch ?? fetch;
  const url = new URL('api/status', info.url).toString();
  const signal = AbortSignal.timeout(options.timeoutMs);
  let body: string;
  try {
    const res = await doFetch(url, { signal, headers: { accept: 'application/json' }, redirect: 'error' });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new TokenwardenError('STORE_INVALID', `the daemon at ${url} answered HTTP ${res.status}`);
    }
    body = await readBounded(res, url);
  } catch (err) {
    if (err instanceof TokenwardenError) throw err;
    if (signal.aborted) {
      throw new TokenwardenError(
        'TIMEOUT',
        `the daemon at ${url} did not answer within ${options.timeoutMs} ms`,
      );
    }
    const reason =
      err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new TokenwardenError('NETWORK', `cannot reach the daemon at ${url}: ${reason}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new TokenwardenError('STORE_INVALID', `the daemon at ${url} answered something that is not JSON`);
  }
  const problem = snapshotProblem(parsed);
  if (problem !== undefined) {
    throw new TokenwardenError(
      'STORE_INVALID',
      `the daemon at ${url} answered no status snapshot: ${problem}`,
    );
  }
  return parsed as StatusSnapshot;
}

async function readBounded(res: Response, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_SNAPSHOT_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new TokenwardenError(
      'STORE_INVALID',
      `the daemon at ${url} answered more than ${MAX_SNAPSHOT_BYTES} bytes`,
    );
  }
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > MAX_SNAPSHOT_BYTES) {
      throw new TokenwardenError(
        'STORE_INVALID',
        `the daemon at ${url} answered more than ${MAX_SNAPSHOT_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function invalid(path: string, reason: string): TokenwardenError {
  return new TokenwardenError('STORE_INVALID', `${path} is not a daemon.json: ${reason}`, {
    hint: 'it is rewritten when the daemon starts; remove it if no daemon runs',
  });
}

/** The checked DaemonInfo (only its own fields), or what is wrong with `value`. */
function checkDaemonInfo(value: unknown): DaemonInfo | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 1) return 'pid: not a process id';
  if (typeof v.url !== 'string' || !isServiceUrl(v.url)) return 'url: not an http(s) URL ending in /';
  if (typeof v.config !== 'string' || !isAbsolute(v.config)) return 'config: not an absolute path';
  if (typeof v.startedAt !== 'number' || !Number.isFinite(v.startedAt)) return 'startedAt: not a time';
  return { pid: v.pid, url: v.url, config: v.config, startedAt: v.startedAt };
}

function isServiceUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.search === '' &&
      url.hash === '' &&
      url.pathname.endsWith('/')
    );
  } catch {
    return false;
  }
}

/** What makes `value` not a StatusSnapshot, checked as far as `status` relies on it. */
function snapshotProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.rows)) return 'no rows';
  if (!Array.isArray(v.groups)) return 'no groups';
  if (!Array.isArray(v.warnings)) return 'no warnings';
  for (const [i, row] of (v.rows as unknown[]).entries()) {
    if (typeof row !== 'object' || row === null) return `rows[${i}]: not an object`;
    const r = row as Record<string, unknown>;
    if (typeof r.id !== 'string' || typeof r.group !== 'string') return `rows[${i}]: no id or group`;
    if (!(CREDENTIAL_STATES as readonly unknown[]).includes(r.state)) return `rows[${i}]: unknown state`;
    for (const k of ['issuedAt', 'expiresAt', 'lastRenewal', 'nextRenewalAt']) {
      if (r[k] !== undefined && typeof r[k] !== 'number') return `rows[${i}].${k}: not a number`;
    }
    if (r.path !== undefined && typeof r.path !== 'string') return `rows[${i}].path: not a string`;
    if (r.lastError !== undefined) {
      const e = r.lastError as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || typeof e.message !== 'string') {
        return `rows[${i}].lastError: no message`;
      }
    }
  }
  return undefined;
}
