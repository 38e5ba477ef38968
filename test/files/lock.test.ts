import assert from 'node:assert/strict';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { acquireLock, lockFileBeside, withLock } from '../../src/files/index.js';
import { Secret } from '../../src/secret.js';
import { createFileStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnChild } from './spawn.js';

describe('acquireLock', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-lock-'));
  });
  afterEach(async () => cleanup());

  it('creates the lock file 0600 in a new 0700 directory, releases idempotently, and keeps the file', async () => {
    const path = join(dir, 'locks', 'acct.lock');
    const lock = await acquireLock(path, { timeoutMs: 1000 });
    assert.equal(lock.path, path);
    assert.equal((await stat(path)).mode & 0o7777, 0o600);
    assert.equal((await stat(join(dir, 'locks'))).mode & 0o7777, 0o700);
    await lock.release();
    await lock.release();
    assert.ok((await stat(path)).isFile());
    const again = await acquireLock(path, { timeoutMs: 0 });
    await again.release();
  });

  it('times out with LOCK_TIMEOUT naming the lock file while another holder has it', async () => {
    const path = join(dir, 'acct.lock');
    const held = await acquireLock(path, { timeoutMs: 0 });
    try {
      const started = Date.now();
      await assert.rejects(acquireLock(path, { timeoutMs: 60 }), {
        code: 'LOCK_TIMEOUT',
        message: `cannot lock ${path}: still held by another process after 60 ms`,
      });
      const waited = Date.now() - started;
      assert.ok(waited >= 55 && waited < 1000, `waited ${waited} ms`);
    } finally {
      await held.release();
    }
  });

  it('stops waiting when the signal aborts', async () => {
    const path = join(dir, 'acct.lock');
    const held = await acquireLock(path, { timeoutMs: 0 });
    try {
      const started = Date.now();
      await assert.rejects(acquireLock(path, { timeoutMs: 10_000, signal: AbortSignal.timeout(50) }), {
        code: 'LOCK_TIMEOUT',
        message: `cannot lock ${path}: the wait was cancelled`,
      });
      assert.ok(Date.now() - started < 2000);
      await assert.rejects(acquireLock(path, { timeoutMs: 10_000, signal: AbortSignal.abort() }), {
        code: 'LOCK_TIMEOUT',
      });
    } finally {
      await held.release();
    }
  });

  it('gets the lock as soon as the holder releases it', async () => {
    const path = join(dir, 'acct.lock');
    const held = await acquireLock(path, { timeoutMs: 0 });
    setTimeout(() => void held.release(), 30);
    const started = Date.now();
    const lock = await acquireLock(path, { timeoutMs: 5000 });
    assert.ok(Date.now() - started < 500);
    await lock.release();
  });

  it('withLock releases when fn throws, and passes its value through', async () => {
    const path = join(dir, 'acct.lock');
    await assert.rejects(
      withLock(path, { timeoutMs: 1000 }, async () => {
        throw new Error('boom');
      }),
      { message: 'boom' },
    );
    assert.equal(await withLock(path, { timeoutMs: 0 }, async () => 42), 42);
  });

  it('refuses a symlinked lock file', async () => {
    const path = join(dir, 'acct.lock');
    await symlink(join(dir, 'elsewhere'), path);
    await assert.rejects(acquireLock(path, { timeoutMs: 0 }), { code: 'FILE_UNSAFE' });
  });

  it('excludes other processes: concurrent read-modify-write of a counter stays exact', async () => {
    const lockPath = join(dir, 'counter.lock');
    const path = join(dir, 'counter');
    await writeFile(path, '0');
    const children = Array.from({ length: 4 }, () => spawnChild('lock-count', { lockPath, path, count: 40 }));
    for (const exit of await Promise.all(children.map((c) => c.exited)))
      assert.equal(exit.code, 0, exit.stderr);
    assert.equal(await readFile(path, 'utf8'), '160');
  });

  it('is released by the kernel when its holder is killed with SIGKILL', async () => {
    const lockPath = join(dir, 'acct.lock');
    const child = spawnChild('lock-hold', { lockPath });
    try {
      assert.deepEqual(await child.firstMessage, { locked: true });
      await assert.rejects(acquireLock(lockPath, { timeoutMs: 20 }), { code: 'LOCK_TIMEOUT' });
      child.process.kill('SIGKILL');
      const started = Date.now();
      const lock = await acquireLock(lockPath, { timeoutMs: 5000 });
      const waited = Date.now() - started;
      await lock.release();
      assert.equal((await child.exited).signal, 'SIGKILL');
      assert.ok(waited < 1000, `took ${waited} ms after the kill`);
    } finally {
      child.process.kill('SIGKILL');
    }
  });

  it('lockFileBeside: one lock per real credential path, however it is reached', async () => {
    const real = join(dir, 'accounts');
    await mkdir(real);
    await symlink(real, join(dir, 'alias'));
    assert.equal(lockFileBeside(join(real, 'vo.cred')), join(real, '.vo.cred.lock'));
    assert.equal(lockFileBeside(join(dir, 'alias', 'vo.cred')), join(real, '.vo.cred.lock'));
    assert.equal(
      lockFileBeside(join(dir, 'alias', '..', 'accounts', 'vo.cred')),
      join(real, '.vo.cred.lock'),
    );
    // Not created yet: the deepest existing ancestor is resolved, the rest kept.
    assert.equal(lockFileBeside(join(dir, 'alias', 'new', 'vo.cred')), join(real, 'new', '.vo.cred.lock'));
  });

  it('two file stores reaching one credential file by different paths exclude each other', async () => {
    const real = join(dir, 'accounts');
    await mkdir(real);
    await symlink(real, join(dir, 'alias'));
    const store = (path: string) =>
      createFileStore({ credentialFile: () => path, password: async () => new Secret('pw') });
    const a = store(join(real, 'vo.cred'));
    const b = store(join(dir, 'alias', 'vo.cred'));
    try {
      await a.withLock('vo', async () => {
        await assert.rejects(
          b.withLock('vo', async () => undefined, { timeoutMs: 0 }),
          {
            code: 'LOCK_TIMEOUT',
            message: `cannot lock ${join(real, '.vo.cred.lock')}: still held by another process after 0 ms`,
          },
        );
      });
      assert.equal(await b.withLock('vo', async () => 'free again', { timeoutMs: 0 }), 'free again');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
