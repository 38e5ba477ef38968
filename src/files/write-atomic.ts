import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { fd as fdOps } from './fd.js';
import { errnoCode, fileIoError } from './io-error.js';

export interface WriteFileAtomicOptions {
  /** Permission bits of the written file (default 0o600), set exactly, whatever the umask. */
  mode?: number;
  /** Owner to give the file (needs root unless it is the caller's own uid). */
  uid?: number;
  /** Group to give the file. */
  gid?: number;
  /**
   * fsync the file before the rename and the directory after it (default true), so that once the
   * promise resolves a crash cannot lose the new content. Only scratch files may turn this off.
   */
  durable?: boolean;
}

const TEMP_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;
/** Keeps `.<basename>.<random>.tmp` within NAME_MAX (255) for long target names. */
const MAX_BASENAME_IN_TEMP = 200;
const TEMP_ATTEMPTS = 5;

/**
 * Replaces `path` with `data` so that every reader sees either the old file or the whole new one, never
 * an empty or partial file (docs/architecture.md invariant 3): a temp file is made exclusively (O_EXCL,
 * O_NOFOLLOW, 0600) in the same directory, written, given its owner and mode, fsynced, renamed over the
 * target, and the directory is fsynced. rename(2) replaces a symlink at the target rather than following
 * it, but a symlink there is refused anyway (FILE_UNSAFE), as is, in a world-writable directory such as
 * /tmp, a target owned by someone else. On failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: WriteFileAtomicOptions = {},
): Promise<void> {
  const mode = opts.mode ?? 0o600;
  checkOptions(path, mode, opts);
  const target = resolve(path);
  const dir = dirname(target);
  const dirStats = await checkDirectory(path, dir);
  await checkTarget(path, target, dirStats, opts);

  const { fd, tempPath } = await createTemp(path, dir, basename(target));
  let renamed = false;
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      await writeAll(fd, bytes);
      if (opts.uid !== undefined || opts.gid !== undefined) {
        await fdOps.fchown(fd, opts.uid ?? -1, opts.gid ?? -1);
      }
      // After chown, which may clear set-id bits, so the mode ends up exactly as asked. The temp file was
      // created 0600: when that is what is asked and the umask took nothing from it, it is exact already.
      const owned = opts.uid !== undefined || opts.gid !== undefined;
      if (owned || mode !== 0o600 || (processUmask() & 0o600) !== 0) await fdOps.fchmod(fd, mode);
      // One fsync after the owner and mode too, so the renamed file cannot come back with 0600/root.
      if (opts.durable !== false) await fdOps.fsync(fd);
    } finally {
      await fdOps.close(fd);
    }
    await fdOps.rename(tempPath, target);
    renamed = true;
    if (opts.durable !== false) await syncDirectory(dir);
  } catch (err) {
    if (!renamed) await fdOps.unlink(tempPath).catch(() => undefined);
    if (err instanceof TokenwardenError) throw err;
    throw fileIoError('write', path, err);
  }
}

let umask: number | undefined;
/** The process umask, read once (tokenwarden never changes it). */
function processUmask(): number {
  // process.umask() with no argument reads it; it is only documentation-deprecated (DEP0139).
  umask ??= process.umask();
  return umask;
}

async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += await fdOps.write(fd, bytes, offset, bytes.byteLength - offset);
  }
}

/**
 * The checks writeFileAtomic makes before it writes, on their own: the directory exists, and the target
 * is absent or a regular file that may be replaced. Run before spending anything (a refresh grant) on a
 * value that could then not be written.
 */
export async function checkWriteTarget(path: string, opts: WriteFileAtomicOptions = {}): Promise<void> {
  checkOptions(path, opts.mode ?? 0o600, opts);
  const target = resolve(path);
  const dirStats = await checkDirectory(path, dirname(target));
  await checkTarget(path, target, dirStats, opts);
}

function checkOptions(path: string, mode: number, opts: WriteFileAtomicOptions): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new TokenwardenError('FILE_IO', `cannot write ${path}: mode ${String(mode)} is not a file mode`);
  }
  for (const [name, id] of [
    ['uid', opts.uid],
    ['gid', opts.gid],
  ] as const) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) {
      throw new TokenwardenError('FILE_IO', `cannot write ${path}: ${name} ${String(id)} is not a valid id`);
    }
  }
}

/** The parent must already exist (followed if it is a symlink: that is the admin's choice). */
async function checkDirectory(path: string, dir: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(dir);
  } catch (err) {
    throw fileIoError(
      'write',
      path,
      err,
      errnoCode(err) === 'ENOENT' ? `create the directory ${dir} first` : undefined,
    );
  }
  if (!stats.isDirectory()) {
    throw new TokenwardenError('FILE_IO', `cannot write ${path}: ${dir} is not a directory`);
  }
  return stats;
}

async function checkTarget(
  path: string,
  target: string,
  dir: Stats,
  opts: WriteFileAtomicOptions,
): Promise<void> {
  let stats: Stats;
  try {
    stats = await lstat(target);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw fileIoError('write', path, err);
  }
  if (stats.isSymbolicLink()) {
    throw new TokenwardenError('FILE_UNSAFE', `refusing to write ${path}: it is a symbolic link`, {
      hint: 'remove the link, or point the configuration at the real file',
    });
  }
  if (!stats.isFile()) {
    throw new TokenwardenError(
      'FILE_UNSAFE',
      `refusing to write ${path}: it exists and is not a regular file`,
    );
  }
  const worldWritable = (dir.mode & 0o002) !== 0;
  const euid = process.geteuid?.();
  if (worldWritable && euid !== undefined && stats.uid !== euid && stats.uid !== opts.uid) {
    throw new TokenwardenError(
      'FILE_UNSAFE',
      `refusing to write ${path}: it is owned by uid ${stats.uid} in the world-writable directory ${dirname(target)}`,
      { hint: 'someone else may have planted it; remove it, or write the token outside a shared directory' },
    );
  }
}

async function createTemp(
  path: string,
  dir: string,
  base: string,
): Promise<{ fd: number; tempPath: string }> {
  for (let attempt = 1; ; attempt++) {
    const tempPath = join(
      dir,
      `.${base.slice(0, MAX_BASENAME_IN_TEMP)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      return { fd: await fdOps.open(tempPath, TEMP_FLAGS, 0o600), tempPath };
    } catch (err) {
      // Never reuse an existing path: someone (or a crashed run) holds this name; draw another.
      if (errnoCode(err) === 'EEXIST' && attempt < TEMP_ATTEMPTS) continue;
      throw fileIoError('write', path, err);
    }
  }
}

/** Makes the rename itself durable: fsync(2) of the directory holding the new entry. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = await fdOps.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fdOps.fsync(fd);
  } finally {
    await fdOps.close(fd);
  }
}
