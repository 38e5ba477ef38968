import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import {
  checkWriteTarget,
  reserveAtomicWrite,
  STALE_TEMP_AGE_MS,
  writeFileAtomic,
} from '../../src/files/index.js';
import { tempDir } from '../helpers/tmp.js';
import { OTHER_GID, OTHER_UID } from './other-user.js';
import { fillUp, mountTmpfs, type Tmpfs } from './tmpfs.js';

async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.tmp'));
}

describe('writing on a full or read-only file system', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fs: Tmpfs | undefined;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-wfault-'));
  });
  afterEach(async () => {
    await fs?.unmount();
    fs = undefined;
    await cleanup();
  });

  it('a reservation taken before the disk filled up still holds the whole write', async () => {
    fs = await mountTmpfs(join(dir, 'small'), '256k');
    const path = join(fs.dir, 'vo.cred');
    await writeFileAtomic(path, 'old record');
    const room = await reserveAtomicWrite(path, 16 * 1024);
    const filler = await fillUp(fs.dir);
    // Without the reservation the same write fails now.
    await assert.rejects(writeFileAtomic(path, 'x'.repeat(8192)), {
      code: 'FILE_IO',
      message: `cannot write ${path}: no space left on device (ENOSPC)`,
    });
    const record = 'n'.repeat(8000);
    await room.write(record);
    assert.equal(await readFile(path, 'utf8'), record);
    assert.equal((await stat(path)).size, record.length, 'truncated to the data');
    assert.equal((await stat(path)).mode & 0o7777, 0o600);
    assert.deepEqual(await tempFiles(fs.dir), []);
    await room.release();
    await rm(filler);
  });

  it('a reservation on a full disk fails at once, and a released one leaves nothing behind', async () => {
    fs = await mountTmpfs(join(dir, 'small'), '128k');
    const path = join(fs.dir, 'vo.cred');
    const room = await reserveAtomicWrite(path, 8192);
    assert.equal((await tempFiles(fs.dir)).length, 1);
    await room.release();
    await room.release();
    assert.deepEqual(await tempFiles(fs.dir), []);
    await fillUp(fs.dir);
    await assert.rejects(reserveAtomicWrite(path, 8192), {
      code: 'FILE_IO',
      message: `cannot reserve space to write ${path}: no space left on device (ENOSPC)`,
    });
    assert.deepEqual(await tempFiles(fs.dir), []);
  });

  it('checkWriteTarget proves a read-only file system unwritable before anything is spent', async () => {
    fs = await mountTmpfs(join(dir, 'ro'), '128k');
    const path = join(fs.dir, 't.token');
    await writeFile(path, 'old\n');
    await fs.remountReadOnly();
    await assert.rejects(checkWriteTarget(path), {
      code: 'FILE_IO',
      message: `cannot write ${path}: read-only file system (EROFS)`,
    });
    assert.equal(await readFile(path, 'utf8'), 'old\n');
  });

  it('checkWriteTarget leaves no file behind when the target is writable', async () => {
    await checkWriteTarget(join(dir, 't.token'), { uid: OTHER_UID, gid: OTHER_GID, mode: 0o640 });
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('keepExisting', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-keep-'));
  });
  afterEach(async () => cleanup());

  it('the replaced file’s owner, group and mode carry over; a new file gets 0600 and our ids', async () => {
    const path = join(dir, 'ce.token');
    await writeFile(path, 'old\n');
    await chown(path, OTHER_UID, OTHER_GID);
    await chmod(path, 0o640);
    await writeFileAtomic(path, 'new\n', { keepExisting: true });
    const st = await stat(path);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [OTHER_UID, OTHER_GID, 0o640]);
    assert.equal(await readFile(path, 'utf8'), 'new\n');

    // What the caller gives wins; the rest still carries over.
    await writeFileAtomic(path, 'newer\n', { keepExisting: true, mode: 0o600 });
    const st2 = await stat(path);
    assert.deepEqual([st2.uid, st2.gid, st2.mode & 0o7777], [OTHER_UID, OTHER_GID, 0o600]);

    const fresh = join(dir, 'new.token');
    await writeFileAtomic(fresh, 'first\n', { keepExisting: true });
    const st3 = await stat(fresh);
    assert.deepEqual([st3.uid, st3.mode & 0o7777], [process.geteuid?.(), 0o600]);
  });
});

describe('stale temp files of killed writers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-stale-'));
  });
  after(async () => cleanup());

  async function plant(name: string, ageMs: number, uid?: number): Promise<void> {
    const path = join(dir, name);
    await writeFile(path, 'half a token');
    if (uid !== undefined) await chown(path, uid, uid);
    const when = new Date(Date.now() - ageMs);
    await utimes(path, when, when);
  }

  it('are removed by the first write into the directory: only ours, only old, only our pattern', async () => {
    const old = STALE_TEMP_AGE_MS + 60_000;
    await plant('.ce.token.0123456789ab.tmp', old);
    await plant('.ce.token.abcdefabcdef.tmp', 60_000); // a write in progress, perhaps
    await plant('.ce.token.fedcba987654.tmp', old, OTHER_UID); // someone else's
    await plant('.ce.token.tmp', old); // not our pattern
    await plant('ce.token.0123456789ab.tmp', old); // not hidden: not ours
    await mkdir(join(dir, '.dir.0123456789ab.tmp'));
    await writeFileAtomic(join(dir, 'other.token'), 'token\n');
    assert.deepEqual((await readdir(dir)).sort(), [
      '.ce.token.abcdefabcdef.tmp',
      '.ce.token.fedcba987654.tmp',
      '.ce.token.tmp',
      '.dir.0123456789ab.tmp',
      'ce.token.0123456789ab.tmp',
      'other.token',
    ]);

    // Once per directory per process: renewing 1,000 tokens in one directory lists it once.
    await plant('.ce.token.999999999999.tmp', old);
    await writeFileAtomic(join(dir, 'other.token'), 'token 2\n');
    assert.ok((await readdir(dir)).includes('.ce.token.999999999999.tmp'));
  });
});
