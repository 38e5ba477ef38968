import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { flock } from 'fs-ext';
import { TokenwardenError } from '../errors.js';
import { MAX_CRED_FILE_BYTES } from './cred-files.js';

/**
 * One lock per credential, shared by every process that writes its `.top`: the credmon refreshing it
 * (the rotated refresh token replaces the one it read) and the login web app storing a new login (which
 * must not be overwritten by a refresh of the old grant still in flight). It is flock(2) on the `.top`
 * itself, so no lock file is added to the user's directory, where the CredD sweeps; because a `.top` is
 * replaced by rename, the holder re-checks after locking, and before each write, that the path still
 * names the file it locked.
 */

/** How long a writer waits for another process's refresh of the same credential, unless told otherwise. */
export const LOCK_WAIT_MS = 10_000;

export interface LockTopOptions {
  /** How long to wait for another holder before LOCK_TIMEOUT; LOCK_WAIT_MS by default. */
  waitMs?: number;
}

/** The identity of the file at `path` (device, inode, size, mtime), or undefined when there is none. */
export async function identityOf(path: string): Promise<string | undefined> {
  try {
    const st = await lstat(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** A locked `.top`: its text as read through the locked descriptor; `release` drops the lock. */
export interface HeldTop {
  text: string;
  identity: string;
  release(): Promise<void>;
}

const TOP_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens `.top` (never through a symlink), takes flock(2) on it, and makes sure the path still names
 * the file locked (another process may have replaced it meanwhile: then the new one is taken). Returns
 * its text, read through the locked descriptor. Waits up to `options.waitMs` for another holder (and
 * never past `signal`).
 */
export async function lockTop(
  path: string,
  signal: AbortSignal,
  options: LockTopOptions = {},
): Promise<HeldTop> {
  const deadline = Date.now() + (options.waitMs ?? LOCK_WAIT_MS);
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, TOP_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new TokenwardenError('TOKEN_NOT_FOUND', `${path} no longer exists`);
      if (code === 'ELOOP') throw new TokenwardenError('FILE_UNSAFE', `${path} is a symbolic link`);
      throw new TokenwardenError('FILE_IO', `cannot open ${path}: ${code ?? String(err)}`, { cause: err });
    }
    let keep = false;
    try {
      const locked = await new Promise<boolean>((resolve, reject) =>
        flock(handle.fd, 'exnb', (err) => {
          if (!err) resolve(true);
          else if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') resolve(false);
          else reject(err);
        }),
      );
      if (locked) {
        const st = await handle.stat({ bigint: true });
        const identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
        if ((await identityOf(path)) === identity) {
          if (!st.isFile()) throw new TokenwardenError('FILE_UNSAFE', `${path} is not a regular file`);
          if (Number(st.size) > MAX_CRED_FILE_BYTES) {
            throw new TokenwardenError('FILE_UNSAFE', `${path} is larger than ${MAX_CRED_FILE_BYTES} bytes`);
          }
          const text = (await handle.readFile()).toString('utf8');
          keep = true;
          return { text, identity, release: () => handle.close() };
        }
        // Replaced between our open and our lock: try the new file.
        continue;
      }
      if (Date.now() >= deadline) {
        throw new TokenwardenError(
          'LOCK_TIMEOUT',
          `${path} is held by another process (a refresh in progress)`,
        );
      }
      await sleep(Math.min(50, 2 * 2 ** Math.min(attempt, 5)), undefined, { signal });
    } finally {
      if (!keep) await handle.close().catch(() => undefined);
    }
  }
}
