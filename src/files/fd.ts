import * as fs from 'node:fs';
import { promisify } from 'node:util';

/**
 * File-descriptor calls, promisified: cheaper than fs/promises' FileHandle objects on renew's hot path
 * (it reads and writes several small files per token), with the same syscalls. Internal to files/.
 */
export const fd = {
  open: promisify(fs.open),
  close: promisify(fs.close),
  fstat: promisify(fs.fstat) as (fd: number, opts: { bigint: true }) => Promise<fs.BigIntStats>,
  lstat: promisify(fs.lstat) as (path: string, opts: { bigint: true }) => Promise<fs.BigIntStats>,
  read: (handle: number, buffer: Buffer): Promise<number> =>
    new Promise((resolve, reject) => {
      fs.read(handle, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n)));
    }),
  /** Writes at the file position, or at `position` when given (pwrite). */
  write: (
    handle: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null = null,
  ): Promise<number> =>
    new Promise((resolve, reject) => {
      fs.write(handle, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
    }),
  ftruncate: promisify(fs.ftruncate),
  fchown: promisify(fs.fchown),
  fchmod: promisify(fs.fchmod),
  fsync: promisify(fs.fsync),
  rename: promisify(fs.rename),
  unlink: promisify(fs.unlink),
};
