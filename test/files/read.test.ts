import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  fileIdentity,
  isLocalFilesystemType,
  onLocalDisk,
  readFileIfExists,
  readFileWithIdentity,
  readFileWithIdentitySync,
} from '../../src/files/index.js';
import { tempDir } from '../helpers/tmp.js';
import { mountTmpfs } from './tmpfs.js';

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

describe('readFileWithIdentitySync', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-read-sync-'));
  });
  afterEach(async () => cleanup());

  it('reads what readFileWithIdentity reads, with the same identity', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'héllo\n');
    const read = readFileWithIdentitySync(path);
    assert.deepEqual(read, await readFileWithIdentity(path));
    assert.equal(read?.identity, await fileIdentity(path));
    assert.equal(readFileWithIdentitySync(join(dir, 'none')), undefined);
    await writeFile(path, '');
    assert.equal(readFileWithIdentitySync(path)?.text, '');
    await writeFile(path, 'y'.repeat(10_000));
    assert.equal(readFileWithIdentitySync(path)?.text, 'y'.repeat(10_000));
    // Small limits share one buffer: a long file read before a short one leaves nothing behind in it.
    const small = { maxBytes: 64 * 1024 };
    assert.equal(readFileWithIdentitySync(path, small)?.text, 'y'.repeat(10_000));
    await writeFile(path, 'ab');
    assert.equal(readFileWithIdentitySync(path, small)?.text, 'ab');
    await writeFile(path, 'z'.repeat(64 * 1024));
    assert.equal(readFileWithIdentitySync(path, small)?.text, 'z'.repeat(64 * 1024));
    await writeFile(path, 'z'.repeat(64 * 1024 + 1));
    assert.throws(() => readFileWithIdentitySync(path, small), { code: 'FILE_IO' });
  });

  it('refuses a symlink, a directory, a FIFO (without hanging) and a file over maxBytes', async () => {
    const target = join(dir, 'target');
    await writeFile(target, 'x'.repeat(101));
    const link = join(dir, 'bt_u0');
    await symlink(target, link);
    assert.throws(() => readFileWithIdentitySync(link), {
      code: 'FILE_UNSAFE',
      message: `refusing to read ${link}: it is a symbolic link`,
    });
    await mkdir(join(dir, 'sub'));
    assert.throws(() => readFileWithIdentitySync(join(dir, 'sub')), { code: 'FILE_UNSAFE' });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readFileWithIdentitySync(fifo), {
      code: 'FILE_UNSAFE',
      message: `refusing to read ${fifo}: it is not a regular file`,
    });
    assert.equal(readFileWithIdentitySync(target, { maxBytes: 101 })?.text, 'x'.repeat(101));
    assert.throws(() => readFileWithIdentitySync(target, { maxBytes: 100 }), {
      code: 'FILE_IO',
      message: `refusing to read ${target}: it is larger than 100 bytes`,
    });
    const below = join(target, 'below');
    assert.throws(() => readFileWithIdentitySync(below), {
      code: 'FILE_IO',
      message: `cannot read ${below}: not a directory (ENOTDIR)`,
    });
  });
});

describe('onLocalDisk', () => {
  it('knows local filesystems by their statfs type, and nothing else', () => {
    for (const local of [0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630]) {
      assert.equal(isLocalFilesystemType(local), true, local.toString(16));
    }
    // NFS, SMB2, CIFS, Lustre, GPFS, CephFS, FUSE, AFS, autofs: a read there may wait on a server.
    for (const remote of [
      0x6969, 0xfe534d42, 0xff534d42, 0x0bd00bd0, 0x47504653, 0x00c36400, 0x65735546, 0x5346414f, 0x0187,
    ]) {
      assert.equal(isLocalFilesystemType(remote), false, remote.toString(16));
    }
  });

  it('says yes for a tmpfs, no for a path that cannot be asked', async () => {
    const { dir, cleanup } = await tempDir('tw-local-');
    const tmpfs = await mountTmpfs(join(dir, 'mnt'));
    try {
      assert.equal(await onLocalDisk(tmpfs.dir), true);
      assert.equal(await onLocalDisk(join(dir, 'missing')), false);
    } finally {
      await tmpfs.unmount();
      await cleanup();
    }
  });
});
