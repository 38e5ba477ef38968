import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeToken } from '../../src/tokens/index.js';
import { CLI, findLeaks, runCli, transcript } from '../helpers/cli.js';
import { storedRefreshTokenState } from '../helpers/inflight.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

const ACCOUNTS = ['vo1', 'vo2'];

async function makeWorld(): Promise<World> {
  const world = await createWorld({ accessTokenTtl: 3600 });
  let body = '';
  for (const a of ACCOUNTS) {
    body += refreshAccount(world, a);
    body += tokenSection(world, `${a}-read`, a, { audience: 'https://a.example', scope: 'storage.read:/' });
    body += tokenSection(world, `${a}-write`, a, {
      audience: 'https://b.example',
      scope: 'storage.create:/',
    });
    body += tokenSection(world, `${a}-ce`, a, {
      audience: 'https://c.example https://d.example',
      scope: 'compute.read',
    });
  }
  await world.writeConfig(body);
  for (const a of ACCOUNTS) assert.equal((await world.setup(a)).code, 0);
  return world;
}

describe('ten renew processes at once', () => {
  let world: World;
  before(async () => {
    world = await makeWorld();
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('never trips the issuer reuse detection, and every account still refreshes', async () => {
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => runCli(['renew', '--config', world.config, '--force'])),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const stats = world.issuer.stats();
    assert.equal(stats.reuseDetected, 0);
    assert.equal(stats.revokedGrants, 0);
    assert.equal(stats.tokenErrors.invalid_grant ?? 0, 0);
    // 10 forced runs x 6 tokens, each a refresh serialized per account.
    assert.equal(stats.tokenRequests.refresh_token, 60);
    const final = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stdout, /6 renewed/);
  });

  it('unforced concurrent runs renew each due token exactly once', async () => {
    for (const f of await readdir(world.tokens)) await rm(join(world.tokens, f));
    const before = world.issuer.stats().tokenRequests.refresh_token ?? 0;
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => runCli(['renew', '--config', world.config])),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal((world.issuer.stats().tokenRequests.refresh_token ?? 0) - before, 6);
    assert.equal((await readdir(world.tokens)).length, 6);
  });
});

describe('renew killed with SIGKILL at random points, 100 times', () => {
  let world: World;
  before(async () => {
    world = await makeWorld();
    assert.equal((await runCli(['renew', '--config', world.config])).code, 0);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('leaves every token file old-or-new and complete, and never loses a refresh token it had received', async (t) => {
    const timed = Date.now();
    assert.equal((await runCli(['renew', '--config', world.config, '--force'])).code, 0);
    const runMs = Date.now() - timed;
    let inFlight = 0;
    for (let i = 0; i < 100; i++) {
      // Piped, not ignored: what a run prints before it is killed goes to the leak audit too.
      const child = spawn(process.execPath, [CLI, 'renew', '--config', world.config, '--force'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // 'close', not 'exit': both pipes are drained by then.
      const exited = new Promise((resolve) => child.on('close', resolve)).then(() =>
        transcript.push(stdout, stderr),
      );
      await new Promise((r) => setTimeout(r, Math.random() * runMs));
      child.kill('SIGKILL');
      await exited;
      for (const f of await readdir(world.tokens)) {
        if (f.startsWith('.')) continue; // a temp file the killed writer left; never a token path
        const text = await readFile(join(world.tokens, f), 'utf8');
        assert.ok(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, `${f} is one complete line`);
        const token = text.trim();
        assert.ok(world.issuer.issuedSecrets().includes(token), `${f} holds a token the issuer issued`);
        assert.equal(typeof decodeToken(token).claims.exp, 'number');
      }
      for (const account of ACCOUNTS) {
        if ((await storedRefreshTokenState(world, account)) === 'live') continue;
        inFlight++;
        const again = await world.setup(account, undefined, ['--force']);
        assert.equal(again.code, 0, again.stderr);
      }
    }
    t.diagnostic(`kills inside the issuer-answered-but-not-yet-stored window: ${inFlight} of 100`);
    const final = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stdout, /6 renewed/);
  });
});
