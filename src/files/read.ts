import type * as fs from 'node:fs';
import { constants } from 'node:fs';
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
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') {
      throw new TokenwardenError('FILE_UNSAFE', `refusing to read ${path}: it is a symbolic link`, {
        cause: err,
        hint: 'remove the link, or point the configuration at the real file',
      });
    }
    throw fileIoError('read', path, err);
  }
  try {
    const stats = await fdOps.fstat(fd, { bigint: true });
    if (!stats.isFile()) {
      throw new TokenwardenError('FILE_UNSAFE', `refusing to read ${path}: it is not a regular file`);
    }
    const size = Number(stats.size);
    if (size > maxBytes) throw tooLarge(path, maxBytes);
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

function identityOf(s: fs.BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

function tooLarge(path: string, maxBytes: number): TokenwardenError {
  return new TokenwardenError('FILE_IO', `refusing to read ${path}: it is larger than ${maxBytes} bytes`);
}
