import assert from 'node:assert/strict';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { writeFileAtomic } from '../../src/files/index.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnChild } from './spawn.js';

const NOBODY = 65534;

describe('writeFileAtomic', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-write-'));
  });
  afterEach(async () => cleanup());

  async function tempFiles(where = dir): Promise<string[]> {
    return (await readdir(where)).filter((f) => f.endsWith('.tmp'));
  }

  it('writes the content with mode 0600 by default and leaves no temp file', async () => {
    const path = join(dir, 'token');
    await writeFileAtomic(path, 'eyJ.a.b\n');
    assert.equal(await readFile(path, 'utf8'), 'eyJ.a.b\n');
    assert.equal((await stat(path)).mode & 0o7777, 0o600);
    assert.deepEqual(await tempFiles(), []);
  });

  it('replaces an existing file, takes bytes, and sets the exact mode asked whatever the umask', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'old', { mode: 0o666 });
    const umask = process.umask(0o077);
    try {
      await writeFileAtomic(path, new Uint8Array([104, 105]), { mode: 0o644 });
    } finally {
      process.umask(umask);
    }
    assert.equal(await readFile(path, 'utf8'), 'hi');
    assert.equal((await stat(path)).mode & 0o7777, 0o644);
  });

  it('applies uid and gid', async () => {
    const path = join(dir, 'token');
    await writeFileAtomic(path, 'x', { uid: NOBODY, gid: NOBODY, mode: 0o640 });
    const st = await stat(path);
    assert.equal(st.uid, NOBODY);
    assert.equal(st.gid, NOBODY);
    assert.equal(st.mode & 0o7777, 0o640);
  });

  it('refuses a symlink at the target and leaves both the link and what it points to alone', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'precious');
    const path = join(dir, 'token');
    await symlink(victim, path);
    await assert.rejects(writeFileAtomic(path, 'evil'), {
      code: 'FILE_UNSAFE',
      message: `refusing to write ${path}: it is a symbolic link`,
    });
    assert.equal(await readFile(victim, 'utf8'), 'precious');
    assert.equal(await readlink(path), victim);
    assert.deepEqual(await tempFiles(), []);
  });

  it('refuses a target that is not a regular file', async () => {
    const path = join(dir, 'sub');
    await mkdir(path);
    await assert.rejects(writeFileAtomic(path, 'x'), { code: 'FILE_UNSAFE' });
    assert.ok((await lstat(path)).isDirectory());
  });

  it('fails with FILE_IO naming the path when the directory is missing', async () => {
    const path = join(dir, 'missing', 'token');
    await assert.rejects(writeFileAtomic(path, 'x'), (err: Error & { code: string; hint?: string }) => {
      assert.equal(err.code, 'FILE_IO');
      assert.equal(err.message, `cannot write ${path}: no such file or directory (ENOENT)`);
      assert.equal(err.hint, `create the directory ${join(dir, 'missing')} first`);
      return true;
    });
    assert.deepEqual(await readdir(dir), []);
  });

  it('leaves the old target intact and removes its temp file when the write fails half-way (EFBIG)', async () => {
    const path = join(dir, 'token');
    await writeFileAtomic(path, 'old token\n');
    // 8 blocks of 512 bytes: the child can create files but not write 100 kB into one.
    const child = spawnChild('write-once', { path, size: 100_000 }, 'trap "" XFSZ; ulimit -f 8');
    const result = await child.firstMessage;
    assert.deepEqual(result, {
      code: 'FILE_IO',
      message: `cannot write ${path}: file too large (EFBIG)`,
      isTokenwardenError: true,
    });
    assert.equal(await readFile(path, 'utf8'), 'old token\n');
    assert.deepEqual(await tempFiles(), []);
  });

  it('rejects a bad mode or id before touching the disk', async () => {
    const path = join(dir, 'token');
    await assert.rejects(writeFileAtomic(path, 'x', { mode: 0o10000 }), { code: 'FILE_IO' });
    await assert.rejects(writeFileAtomic(path, 'x', { uid: -1 }), { code: 'FILE_IO' });
    assert.deepEqual(await readdir(dir), []);
  });

  describe('in a sticky world-writable directory', () => {
    let shared: string;
    beforeEach(async () => {
      shared = join(dir, 'shared-tmp');
      await mkdir(shared);
      await chmod(shared, 0o1777);
    });

    it('refuses a target owned by another uid and leaves it as it was', async () => {
      const path = join(shared, 'bt_u0');
      await writeFile(path, 'planted', { mode: 0o644 });
      await chown(path, NOBODY, NOBODY);
      await assert.rejects(writeFileAtomic(path, 'token'), {
        code: 'FILE_UNSAFE',
        message: `refusing to write ${path}: it is owned by uid ${NOBODY} in the world-writable directory ${shared}`,
      });
      assert.equal(await readFile(path, 'utf8'), 'planted');
      assert.deepEqual(await tempFiles(shared), []);
    });

    it('replaces a target owned by us, or by the uid the file is written for', async () => {
      const ours = join(shared, 'bt_u0');
      await writeFile(ours, 'old');
      await writeFileAtomic(ours, 'new');
      assert.equal(await readFile(ours, 'utf8'), 'new');

      const theirs = join(shared, `bt_u${NOBODY}`);
      await writeFileAtomic(theirs, 'first', { uid: NOBODY });
      await writeFileAtomic(theirs, 'second', { uid: NOBODY });
      assert.equal(await readFile(theirs, 'utf8'), 'second');
      assert.equal((await stat(theirs)).uid, NOBODY);
    });
  });

  it('never lets a reader see a partial file while several processes rewrite it', async (t) => {
    const path = join(dir, 'token');
    const size = 256 * 1024;
    const letters = ['A', 'B', 'C'];
    const values = letters.map((c) => c.repeat(size));
    await writeFileAtomic(path, values[0] as string);
    const children = letters.map((value) => spawnChild('write-loop', { path, value, size, count: 40 }));
    let running = true;
    const allDone = Promise.all(children.map((c) => c.exited)).finally(() => {
      running = false;
    });
    const seen = new Set<string>();
    let reads = 0;
    while (running) {
      const text = await readFile(path, 'utf8');
      reads++;
      assert.ok(
        values.includes(text),
        `read ${text.length} bytes starting ${text.slice(0, 8)}: not one whole value`,
      );
      seen.add(text[0] as string);
    }
    for (const exit of await allDone) assert.equal(exit.code, 0, exit.stderr);
    assert.ok(reads > 10, `only ${reads} reads happened`);
    t.diagnostic(`${reads} complete reads, values seen: ${[...seen].sort().join('')}`);
    assert.ok(values.includes(await readFile(path, 'utf8')));
    assert.deepEqual(await tempFiles(), []);
  });
});
