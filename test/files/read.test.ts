import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { readFileIfExists } from '../../src/files/index.js';
import { tempDir } from '../helpers/tmp.js';

describe('readFileIfExists', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-read-'));
  });
  afterEach(async () => cleanup());

  it('reads a file as UTF-8, and gives undefined for a missing one', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'héllo\n');
    assert.equal(await readFileIfExists(path), 'héllo\n');
    assert.equal(await readFileIfExists(join(dir, 'none')), undefined);
    await writeFile(path, '');
    assert.equal(await readFileIfExists(path), '');
  });

  it('refuses a symlink, even to a readable file', async () => {
    const target = join(dir, 'target');
    await writeFile(target, 'secret');
    const path = join(dir, 'bt_u0');
    await symlink(target, path);
    await assert.rejects(readFileIfExists(path), {
      code: 'FILE_UNSAFE',
      message: `refusing to read ${path}: it is a symbolic link`,
    });
  });

  it('refuses files larger than maxBytes', async () => {
    const path = join(dir, 'big');
    await writeFile(path, 'x'.repeat(101));
    assert.equal(await readFileIfExists(path, { maxBytes: 101 }), 'x'.repeat(101));
    await assert.rejects(readFileIfExists(path, { maxBytes: 100 }), {
      code: 'FILE_IO',
      message: `refusing to read ${path}: it is larger than 100 bytes`,
    });
    await writeFile(path, 'x'.repeat(1024 * 1024 + 1));
    await assert.rejects(readFileIfExists(path), { code: 'FILE_IO' });
  });

  it('refuses a directory or a FIFO without hanging', async () => {
    await mkdir(join(dir, 'sub'));
    await assert.rejects(readFileIfExists(join(dir, 'sub')), { code: 'FILE_UNSAFE' });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(readFileIfExists(fifo), { code: 'FILE_UNSAFE' });
  });

  it('names the path in other errors', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    const path = join(file, 'below');
    await assert.rejects(readFileIfExists(path), {
      code: 'FILE_IO',
      message: `cannot read ${path}: not a directory (ENOTDIR)`,
    });
  });
});
