import type * as fs from 'node:fs';
import { closeSync, constants, fstatSync, openSync, readSync, statfs } from 'node:fs';
import { TokenwardenError } from '../errors.js';
import { fd as fdOps } from './fd.js';
import { errnoCode, fileIoError } from './io-error.js';

export interface ReadFileOptions {
  /** Larger files are refused (default 1 MiB): token, password and credential files are small. */
  maxBytes?: number;
}

/** What a file read was: its text, and an identity that changes whenever the file is replaced or edited. */
export interface FileRead {
  text: string;
  identity: string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
// O_NONBLOCK so that a FIFO planted at the path cannot hang the open; it is then refused as not a file.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The UTF-8 text of `path`, or undefined when it does not exist. A symlink at the path is refused
 * (FILE_UNSAFE), never followed: in /tmp anyone can plant one pointing at another user's file.
 */
export async function readFileIfExists(
  path: string,
  opts: ReadFileOptions = {},
): Promise<string | undefined> {
  return (await readFileWithIdentity(path, opts))?.text;
}

/** readFileIfExists, plus the file's identity (see fileIdentity) as it was when read. */
export async function readFileWithIdentity(
  path: string,
  opts: ReadFileOptions = {},
): Promise<FileRead | undefined> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let fd: number;
  try {
    fd = await fdOps.open(path, READ_FLAGS);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw openError(path, err);
  }
  try {
    const stats = await fdOps.fstat(fd, { bigint: true });
    const size = checkStats(path, stats, maxBytes);
    // Read at most one byte past the limit, so that a file growing under us is still caught.
    const chunkSize = Math.min(maxBytes + 1, Math.max(size + 1, 4096));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes + 1 - total));
      const bytesRead = await fdOps.read(fd, chunk);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(path, maxBytes);
      // A short read of a regular file is its end: no second read just to see zero bytes.
      if (bytesRead < chunk.length) break;
    }
    return { text: Buffer.concat(chunks, total).toString('utf8'), identity: identityOf(stats) };
  } catch (err) {
    if (err instanceof TokenwardenError) throw err;
    throw fileIoError('read', path, err);
  } finally {
    await fdOps.close(fd).catch(() => undefined);
  }
}

/**
 * Device, inode, size, change and modification times (nanoseconds): equal identities mean the file at
 * `path` was neither replaced (rename gives a new inode) nor written in between. undefined when absent.
 */
export async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    return identityOf(await fdOps.lstat(path, { bigint: true }));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw fileIoError('read', path, err);
  }
}

/**
 * readFileWithIdentity without the thread pool: the same open (O_NOFOLLOW, O_NONBLOCK), checks and
 * identity, in four plain syscalls. A synchronous call holds the event loop, and with it the run's
 * deadline, for as long as the kernel takes, so use it only where onLocalDisk() said the file's
 * directory is on a local filesystem: there a read costs microseconds, while four thread-pool round
 * trips cost far more than the read itself.
 */
export function readFileWithIdentitySync(path: string, opts: ReadFileOptions = {}): FileRead | undefined {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw openError(path, err);
  }
  try {
    const stats = fstatSync(fd, { bigint: true });
    const size = checkStats(path, stats, maxBytes);
    // As readFileWithIdentity: at most one byte past the limit, a short read is the end. Small limits
    // read into one buffer kept for the process (nothing else runs between these calls): a thousand token
    // files then allocate nothing but their text.
    let whole =
      maxBytes < SCRATCH_BYTES
        ? scratch()
        : Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(size + 1, 4096)));
    let total = 0;
    for (;;) {
      if (total === whole.length) {
        // A file that grew since the fstat: room for more, still at most one byte past the limit.
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, whole.length * 2));
        whole.copy(bigger, 0, 0, total);
        whole = bigger;
      }
      const bytesRead = readSync(fd, whole, total, whole.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(path, maxBytes);
      if (total < whole.length) break;
    }
    return { text: whole.toString('utf8', 0, total), identity: identityOf(stats) };
  } catch (err) {
    if (err instanceof TokenwardenError) throw err;
    throw fileIoError('read', path, err);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Nothing was written: a failed close loses nothing.
    }
  }
}

/** readFileWithIdentitySync's buffer for limits under this size (token files are read with 64 KiB). */
const SCRATCH_BYTES = 64 * 1024 + 1;
let scratchBuffer: Buffer | undefined;
function scratch(): Buffer {
  scratchBuffer ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return scratchBuffer;
}

/**
 * statfs(2) f_type of filesystems kept on a local block device or in memory, where a read never waits on
 * a network: ext2/3/4, XFS, Btrfs, tmpfs, ramfs, overlayfs, ZFS, F2FS, JFS, ReiserFS. Anything else
 * (NFS, CIFS, Lustre, GPFS, CephFS, FUSE, AFS, autofs…) may hang when its server does.
 */
const LOCAL_FILESYSTEMS: ReadonlySet<number> = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x858458f6, 0x794c7630, 0x2fc12fc1, 0xf2f52010, 0x3153464a,
  0x52654973,
]);

/** Is a filesystem of this statfs type local (see LOCAL_FILESYSTEMS)? Pure. */
export function isLocalFilesystemType(type: number): boolean {
  return LOCAL_FILESYSTEMS.has(type);
}

/**
 * Is `dir` on a local filesystem, where readFileWithIdentitySync cannot hang on a server? Asked through
 * the thread pool, since statfs itself waits on a hung server; false on any doubt (an error included).
 * A file bind-mounted from a network filesystem over a name in a local directory would be misjudged;
 * such a mount is an administrator's deliberate act, not something another user can plant.
 */
export function onLocalDisk(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    statfs(dir, (err, s) => resolve(err === null && isLocalFilesystemType(Number(s.type))));
  });
}

function openError(path: string, err: unknown): TokenwardenError {
  if (errnoCode(err) === 'ELOOP') {
    return new TokenwardenError('FILE_UNSAFE', `refusing to read ${path}: it is a symbolic link`, {
      cause: err,
      hint: 'remove the link, or point the configuration at the real file',
    });
  }
  return fileIoError('read', path, err);
}

/** The size of a file to read, after refusing anything but a regular file no larger than `maxBytes`. */
function checkStats(path: string, stats: fs.BigIntStats, maxBytes: number): number {
  if (!stats.isFile()) {
    throw new TokenwardenError('FILE_UNSAFE', `refusing to read ${path}: it is not a regular file`);
  }
  const size = Number(stats.size);
  if (size > maxBytes) throw tooLarge(path, maxBytes);
  return size;
}

function identityOf(s: fs.BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

function tooLarge(path: string, maxBytes: number): TokenwardenError {
  return new TokenwardenError('FILE_IO', `refusing to read ${path}: it is larger than ${maxBytes} bytes`);
}
