import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flock } from 'fs-ext';
import { storeLogin } from '../../../src/credmon/web/index.js';
import { credPath, makeCredDir, storeCred } from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';

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
