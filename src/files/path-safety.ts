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
  const absolute = resolve(path);
  const parent = dirname(absolute);
  const proven = parent === absolute ? undefined : provenDirs.get(parent);
  if (proven !== undefined) {
    if (proven.until > Date.now() && (await pinsHold(proven.pins, euid))) {
      if (await lastComponentSafe(path, purpose, absolute, parent, proven.stats, euid)) return;
    } else if (provenDirs.get(parent) === proven) provenDirs.delete(parent);
  }
  const pending = components(absolute);
  let current = '/';
  let currentStats = await lstatOrFail(path, purpose, current);
  let shared = isShared(currentStats);
  let links = 0;
  /** Each directory met directly inside a shared one: the only entries another user could swap. */
  const pins: Pin[] = [];
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
    // The whole directory part walked, with no symlink on the way: remembered for the next check of a
    // path in it (see provenDirs).
    if (pending.length === 0 && links === 0 && current === parent) remember(parent, currentStats, pins);
    let st: Stats;
    try {
      st = await lstat(next);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fileIoError(verb(purpose), path, err);
    }
    if (shared) refusePlanted(path, purpose, next, st, current, currentStats, euid);
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
    if (shared && st.isDirectory()) pins.push({ path: next, dev: st.dev, ino: st.ino });
    current = next;
    currentStats = st;
    shared = st.isDirectory() && isShared(st);
  }
}

/**
 * Directories whose whole path checkPathSafe walked and found safe, kept a few seconds so that the
 * writes of a renewal (the credential's reservation and save, the token file, the status file) and of
 * the next renewals do not each walk every component again. A later check in such a directory only
 * lstats the directories that sit directly in a shared directory (the pins), which are the only
 * components another user could swap (in a sticky directory only after the owner removed them), and
 * its own last component, by the same rules as the walk. A pin that is no longer the same directory
 * (device and inode), owned by us or root, sends the check back to the full walk; so does a symlink
 * as the last component. Every other component lies in a directory that only its owner (us, or an
 * admin the walk trusts anyway: it follows their symlinks) can change.
 */
const provenDirs = new Map<string, { until: number; stats: Stats; pins: Pin[] }>();
const PROVEN_MS = 5000;
/** Bounded: a run over many directories does not grow it without end. */
const MAX_PROVEN = 1024;

interface Pin {
  path: string;
  dev: number;
  ino: number;
}

function remember(dir: string, stats: Stats, pins: Pin[]): void {
  if (provenDirs.size >= MAX_PROVEN) provenDirs.clear();
  provenDirs.set(dir, { until: Date.now() + PROVEN_MS, stats, pins: [...pins] });
}

async function pinsHold(pins: Pin[], euid: number): Promise<boolean> {
  const now = await Promise.all(pins.map((p) => lstat(p.path).catch(() => undefined)));
  return now.every((st, i) => {
    const pin = pins[i] as Pin;
    return (
      st?.isDirectory() === true &&
      st.dev === pin.dev &&
      st.ino === pin.ino &&
      (st.uid === euid || st.uid === 0)
    );
  });
}

/**
 * The walk's last step, in a proven directory: true when `absolute` is safe; false when it is a symlink
 * outside a shared directory, which the full walk follows.
 */
async function lastComponentSafe(
  path: string,
  purpose: PathPurpose,
  absolute: string,
  parent: string,
  parentStats: Stats,
  euid: number,
): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(absolute);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return true;
    throw fileIoError(verb(purpose), path, err);
  }
  const shared = isShared(parentStats);
  if (shared) refusePlanted(path, purpose, absolute, st, parent, parentStats, euid);
  return !st.isSymbolicLink();
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

/**
 * The rule for an entry of a shared (sticky or world-writable) directory, applied by the full walk and
 * by the check in a proven directory alike: no symlink, and no directory owned by anyone but us or root
 * (docs/architecture.md invariant 9).
 */
function refusePlanted(
  path: string,
  purpose: PathPurpose,
  entry: string,
  st: Stats,
  dir: string,
  dirStats: Stats,
  euid: number,
): void {
  if (st.isSymbolicLink()) {
    throw unsafe(
      path,
      purpose,
      `${entry} is a symbolic link in the ${sharedKind(dirStats)} directory ${dir}`,
    );
  }
  if (st.isDirectory() && st.uid !== euid && st.uid !== 0) {
    throw unsafe(
      path,
      purpose,
      `${entry} is a directory owned by uid ${st.uid} in the ${sharedKind(dirStats)} directory ${dir}`,
    );
  }
}
