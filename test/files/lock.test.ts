import assert from 'node:assert/strict';
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { acquireLock, withLock } from '../../src/files/index.js';
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
});
