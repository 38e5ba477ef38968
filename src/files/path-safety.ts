import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { errnoCode, fileIoError } from './io-error.js';

/** What the caller is about to do with the path, for messages: `write` a token, `read` a password… */
export type PathPurpose = 'write' | 'read' | 'lock';

/** Linux gives up after 40 symlinks in one lookup (ELOOP); so do we. */
const MAX_SYMLINKS = 40;

/**
 * Proves that no path component another user controls can redirect `path`. It walks the path one
 * component at a time, as the kernel would resolve it, and inside every shared directory (sticky or
 * world-writable, like /tmp) refuses a symbolic link, and a directory owned by anyone but us or root:
 * there anybody may have planted it (`ln -s /root-only-dir /tmp/tokens`) and the kernel's
 * fs.protected_symlinks may be off. Symlinks elsewhere are followed (they are the admin's own choice),
 * and their targets are walked by the same rule. A component that does not exist ends the walk: it
 * will be created by us, or the operation fails. Fails with FILE_UNSAFE naming the component.
 *
 * Run it before each write of a token, credential, status or lock file, and before reading a secret
 * (password_file, client_secret_file).
 */
export async function checkPathSafe(path: string, purpose: PathPurpose = 'write'): Promise<void> {
  const euid = process.geteuid?.() ?? 0;
  const pending = components(resolve(path));
  let current = '/';
  let currentStats = await lstatOrFail(path, purpose, current);
  let shared = isShared(currentStats);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      current = dirname(current);
      currentStats = await lstatOrFail(path, purpose, current);
      shared = isShared(currentStats);
      continue;
    }
    const next = join(current, name);
    let st: Stats;
    try {
      st = await lstat(next);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fileIoError(verb(purpose), path, err);
    }
    if (shared && st.isSymbolicLink()) {
      throw unsafe(
        path,
        purpose,
        `${next} is a symbolic link in the ${sharedKind(currentStats)} directory ${current}`,
      );
    }
    if (shared && st.isDirectory() && st.uid !== euid && st.uid !== 0) {
      throw unsafe(
        path,
        purpose,
        `${next} is a directory owned by uid ${st.uid} in the ${sharedKind(currentStats)} directory ${current}`,
      );
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) {
        throw new TokenwardenError('FILE_UNSAFE', `cannot ${verb(purpose)} ${path}: too many symbolic links`);
      }
      let target: string;
      try {
        target = await readlink(next);
      } catch (err) {
        throw fileIoError(verb(purpose), path, err);
      }
      pending.unshift(...components(target));
      if (target.startsWith('/')) {
        current = '/';
        currentStats = await lstatOrFail(path, purpose, current);
        shared = isShared(currentStats);
      }
      continue;
    }
    current = next;
    currentStats = st;
    shared = st.isDirectory() && isShared(st);
  }
}

/** Sticky or world-writable: a directory where other users may create (or plant) entries. */
export function isShared(st: Stats): boolean {
  return (st.mode & 0o1002) !== 0;
}

/** How a shared directory is named in messages: `world-writable` (as /tmp is) or `sticky`. */
export function sharedKind(st: Stats): string {
  return (st.mode & 0o002) !== 0 ? 'world-writable' : 'sticky';
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}

async function lstatOrFail(path: string, purpose: PathPurpose, dir: string): Promise<Stats> {
  try {
    return await lstat(dir);
  } catch (err) {
    throw fileIoError(verb(purpose), path, err);
  }
}

function verb(purpose: PathPurpose): string {
  return purpose === 'lock' ? 'use the lock file' : purpose;
}

function unsafe(path: string, purpose: PathPurpose, why: string): TokenwardenError {
  return new TokenwardenError('FILE_UNSAFE', `refusing to ${verb(purpose)} ${path}: ${why}`, {
    hint: 'another user may have planted it; use a directory only you (or root) can write, e.g. not under /tmp',
  });
}
