import assert from 'node:assert/strict';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flock } from 'fs-ext';
import { lockTop } from '../../../src/credmon/top-lock.js';
import { storeLogin } from '../../../src/credmon/web/index.js';
import { credPath, makeCredDir, storeCred } from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';
import { browserlessClient, type LoginWorld, PROVIDER, startLoginWorld } from './fixture.js';

function lock(fd: number): Promise<void> {
  return new Promise((resolve, reject) => flock(fd, 'exnb', (err) => (err ? reject(err) : resolve())));
}

describe('a login stored while the credmon refreshes the same credential', () => {
  it('waits for the lock the refresh holds on .top, so the new login is what stays', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cd = await makeCredDir(dir);
      await storeCred(cd, 'alice', 'wlcg', { refresh_token: 'old-grant', scopes: 'openid' });
      const topPath = credPath(cd, 'alice', 'wlcg', 'top');
      // The credmon's refresh: it holds flock on the .top it read.
      const refresh = await open(topPath, 'r');
      await lock(refresh.fd);
      let done = false;
      const storing = storeLogin({
        credDir: cd.path,
        user: 'alice',
        credName: 'wlcg',
        scopes: 'openid',
        audience: '',
        clientId: 'ap',
        tokenUrl: 'https://issuer.example/token',
        response: { access_token: 'a.b.c', refresh_token: 'new-grant', expires_in: 600 },
        now: Date.now(),
      }).then(() => {
        done = true;
      });
      await sleep(300);
      assert.equal(done, false, 'the login waits while the refresh holds the lock');
      assert.match(await readFile(topPath, 'utf8'), /old-grant/);
      await refresh.close(); // the refresh is over (its own rotated .top would have been written by now)
      await storing;
      assert.match(await readFile(topPath, 'utf8'), /new-grant/);
      assert.doesNotMatch(await readFile(credPath(cd, 'alice', 'wlcg', 'use'), 'utf8'), /new-grant/);
    } finally {
      await cleanup();
    }
  });
});

describe('lockTop waits as long as it is told', () => {
  it('gives up with LOCK_TIMEOUT after options.waitMs, not the default 10 s', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cd = await makeCredDir(dir);
      await storeCred(cd, 'alice', 'wlcg', { refresh_token: 'old-grant' });
      const topPath = credPath(cd, 'alice', 'wlcg', 'top');
      const refresh = await open(topPath, 'r');
      try {
        await lock(refresh.fd);
        const started = Date.now();
        await assert.rejects(lockTop(topPath, new AbortController().signal, { waitMs: 200 }), {
          code: 'LOCK_TIMEOUT',
        });
        const waited = Date.now() - started;
        assert.ok(waited >= 200 && waited < 5_000, `waited ${waited} ms`);
      } finally {
        await refresh.close();
      }
      const held = await lockTop(topPath, new AbortController().signal, { waitMs: 200 });
      assert.match(held.text, /old-grant/);
      await held.release();
    } finally {
      await cleanup();
    }
  });
});

/** Opens the key link, clicks Login, and returns the issuer's redirect back to the app (not yet followed). */
async function untilReturn(world: LoginWorld, browser: ReturnType<typeof browserlessClient>, key: string) {
  assert.equal((await browser.get(`/key/${key}`)).status, 200);
  const login = await browser.get(`/login/${PROVIDER}`);
  assert.equal(login.status, 302, await login.text());
  const approved = await fetch(login.headers.get('location') as string, { redirect: 'manual' });
  const back = approved.headers.get('location');
  assert.ok(back, `the issuer sent no redirect (${approved.status})`);
  const url = new URL(back);
  assert.equal(url.origin, world.base);
  return url;
}

/** A .top as a previous login left it, so that the credmon may be refreshing it. */
async function previousLogin(world: LoginWorld): Promise<string> {
  await mkdir(join(world.credDir, 'alice'), { mode: 0o700 });
  const topPath = join(world.credDir, 'alice', `${PROVIDER}.top`);
  await writeFile(topPath, JSON.stringify({ refresh_token: 'old-grant', scopes: 'openid' }), { mode: 0o600 });
  return topPath;
}

const codeExchanges = (world: LoginWorld) =>
  (world.issuer.stats().tokenRequests.authorization_code ?? 0) +
  (world.issuer.stats().tokenErrors.invalid_grant ?? 0);

describe('a login returning while the credmon refreshes the same credential', { timeout: 60_000 }, () => {
  let world: LoginWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('waits for the lock BEFORE exchanging the code, then completes once the refresh is over', async () => {
    world = await startLoginWorld({ autoApprove: 'alice', loginLockWaitMs: 20_000 });
    const topPath = await previousLogin(world);
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await untilReturn(world, browser, key);
    // The credmon's refresh: it holds flock on the .top it read, for as long as its call takes.
    const refresh = await open(topPath, 'r');
    await lock(refresh.fd);
    let answered = false;
    const returning = browser.get(back.pathname + back.search).then((r) => {
      answered = true;
      return r;
    });
    await sleep(600);
    assert.equal(answered, false, 'the return waits while the refresh holds the lock');
    assert.equal(codeExchanges(world), 0, 'the code is not exchanged while the lock is held');
    await refresh.close();
    const done = await returning;
    assert.equal(done.status, 303, await done.text());
    assert.equal(codeExchanges(world), 1);
    const top = JSON.parse(await readFile(topPath, 'utf8'));
    assert.notEqual(top.refresh_token, 'old-grant');
    assert.ok(typeof top.refresh_token === 'string' && top.refresh_token.length > 10);
    assert.deepEqual(world.stored, [['alice', PROVIDER]]);
  });

  it('when the refresh outlasts the wait, refuses with the code unspent and nothing written', async () => {
    world = await startLoginWorld({ autoApprove: 'alice', loginLockWaitMs: 300 });
    const topPath = await previousLogin(world);
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await untilReturn(world, browser, key);
    const refresh = await open(topPath, 'r');
    try {
      await lock(refresh.fd);
      const refused = await browser.get(back.pathname + back.search);
      assert.equal(refused.status, 503);
      assert.match(await refused.text(), /LOCK_TIMEOUT|held by another process/);
      assert.equal(codeExchanges(world), 0, 'no grant was issued only to be dropped');
      assert.match(await readFile(topPath, 'utf8'), /old-grant/);
      assert.deepEqual(world.stored, []);
    } finally {
      await refresh.close();
    }
  });
});
