import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { TokenwardenError } from '../errors.js';
import { errnoCode, fileIoError } from './io-error.js';

export interface ReadFileOptions {
  /** Larger files are refused (default 1 MiB): token, password and credential files are small. */
  maxBytes?: number;
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
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
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
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new TokenwardenError('FILE_UNSAFE', `refusing to read ${path}: it is not a regular file`);
    }
    if (stats.size > maxBytes) throw tooLarge(path, maxBytes);
    // Read at most one byte past the limit, so that a file growing under us is still caught.
    const chunkSize = Math.min(maxBytes + 1, Math.max(stats.size + 1, 4096));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(path, maxBytes);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    if (err instanceof TokenwardenError) throw err;
    throw fileIoError('read', path, err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function tooLarge(path: string, maxBytes: number): TokenwardenError {
  return new TokenwardenError('FILE_IO', `refusing to read ${path}: it is larger than ${maxBytes} bytes`);
}
