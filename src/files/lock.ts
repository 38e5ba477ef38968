import { constants, realpathSync } from 'node:fs';
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenwardenError } from '../errors.js';
import { errnoCode, fileIoError } from './io-error.js';
import { checkPathSafe } from './path-safety.js';

/** An exclusive lock held on a lock file; `release()` is idempotent. */
export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for another holder before LOCK_TIMEOUT; 0 tries once. */
  timeoutMs: number;
  /** Stops waiting early (e.g. the run's deadline); also ends in LOCK_TIMEOUT. */
  signal?: AbortSignal;
}

// O_RDWR rather than O_RDONLY: on NFS, Linux emulates flock with POSIX locks, whose exclusive form
// needs a descriptor open for writing. No O_TRUNC: the file's content is never used.
const LOCK_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;
const FIRST_DELAY_MS = 2;
const MAX_DELAY_MS = 50;

/**
 * Takes the exclusive flock(2) on `path` (created 0600, its directory 0700, when missing), waiting at
 * most `timeoutMs`. The lock belongs to the open file description, so the kernel drops it when the
 * process dies, even by SIGKILL: no stale lock files, no PID checks. Each attempt is non-blocking
 * (LOCK_NB) and retried with a short randomized backoff, so no libuv thread ever sleeps in flock.
 * Lock files are never deleted: unlinking a locked file lets a second process lock a new inode at the
 * same path while the first still holds the old one. Two acquisitions in one process exclude each
 * other too (each has its own open file description), so do not nest them on one path.
 */
export async function acquireLock(path: string, opts: LockOptions): Promise<Lock> {
  const deadline = Date.now() + Math.max(0, opts.timeoutMs);
  throwIfAborted(path, opts.signal);
  await checkPathSafe(path, 'lock');
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fileIoError('create the directory of the lock', path, err);
  }
  for (let attempt = 0; ; attempt++) {
    const outcome = await attemptLock(path);
    if (typeof outcome === 'object') return outcome;
    const now = Date.now();
    if (now >= deadline || opts.signal?.aborted) throw timedOut(path, opts);
    if (outcome === 'replaced') continue;
    try {
      await sleep(Math.min(backoff(attempt), deadline - now), undefined, { signal: opts.signal });
    } catch {
      throw timedOut(path, opts);
    }
  }
}

/** One non-blocking attempt on the file now at `path`. */
async function attemptLock(path: string): Promise<Lock | 'busy' | 'replaced'> {
  const handle = await openLockFile(path);
  try {
    if (!(await tryLock(handle.fd, path))) {
      await handle.close();
      return 'busy';
    }
    // Someone replaced or removed the file (e.g. a tmp cleaner) between our open and flock: this lock
    // would not exclude a process opening the path now, so start again on the current file.
    if (!(await isSameFile(handle, path))) {
      await handle.close();
      return 'replaced';
    }
    return heldLock(path, handle);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The lock file of the file at `path` (a credential): `.<name>.lock` beside it, in the real directory
 * (symlinks resolved), so that every process that can reach one file through any path, from any config
 * or state directory, takes the same lock. Where the directory does not exist yet, its deepest existing
 * ancestor is resolved and the rest appended: the path the directory will have once it is created.
 */
export function lockFileBeside(path: string): string {
  const absolute = resolve(path);
  return join(realDirectory(dirname(absolute)), `.${basename(absolute)}.lock`);
}

function realDirectory(dir: string): string {
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      return join(realpathSync.native(current), ...missing.reverse());
    } catch (err) {
      const parent = dirname(current);
      if (errnoCode(err) !== 'ENOENT' || parent === current) return join(current, ...missing.reverse());
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** Runs `fn` holding the lock on `path`, releasing it however `fn` ends. */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Full jitter between half and all of a doubling delay from ~2 ms, capped at ~50 ms. */
function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

async function openLockFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, LOCK_FLAGS, 0o600);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') {
      throw new TokenwardenError(
        'FILE_UNSAFE',
        `refusing to use the lock file ${path}: it is a symbolic link`,
        {
          cause: err,
        },
      );
    }
    throw fileIoError('open the lock file', path, err);
  }
}

/**
 * fs-ext is a native addon: loaded on the first lock taken, so that a process that never locks (a
 * `renew` whose tokens are all fresh, `status`, `inspect`) does not pay for loading it.
 */
let fsExt: Promise<typeof import('fs-ext')> | undefined;

/** One non-blocking attempt: true when we now hold the lock, false when another holder has it. */
async function tryLock(fd: number, path: string): Promise<boolean> {
  fsExt ??= import('fs-ext');
  const { flock } = await fsExt;
  return new Promise((resolve, reject) => {
    flock(fd, 'exnb', (err) => {
      if (!err) resolve(true);
      else if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') resolve(false);
      else reject(fileIoError('lock', path, err));
    });
  });
}

async function isSameFile(handle: FileHandle, path: string): Promise<boolean> {
  const [held, current] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
  return current !== undefined && held.ino === current.ino && held.dev === current.dev;
}

function heldLock(path: string, handle: FileHandle): Lock {
  let released: Promise<void> | undefined;
  return {
    path,
    release() {
      // Closing the only descriptor of the open file description drops the flock.
      released ??= handle.close().catch((err: unknown) => {
        throw fileIoError('release the lock', path, err);
      });
      return released;
    },
  };
}

function throwIfAborted(path: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw timedOut(path, { timeoutMs: 0, signal });
}

function timedOut(path: string, opts: LockOptions): TokenwardenError {
  const why = opts.signal?.aborted
    ? 'the wait was cancelled'
    : `still held by another process after ${opts.timeoutMs} ms`;
  return new TokenwardenError('LOCK_TIMEOUT', `cannot lock ${path}: ${why}`, {
    cause: opts.signal?.aborted ? opts.signal.reason : undefined,
    hint: 'another tokenwarden run is refreshing this credential; try again later',
  });
}
