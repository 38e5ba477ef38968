import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, type CliRun, findLeaks, runCli, transcript } from '../helpers/cli.js';
import { storedRefreshTokenState } from '../helpers/inflight.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/** Spawns `renew`, sends `signal` once a token request is held by the issuer, and waits for the exit. */
async function renewInterrupted(world: World, signal: NodeJS.Signals): Promise<CliRun> {
  const faultedBefore = world.issuer.stats().faultedRequests;
  const child = spawn(process.execPath, [CLI, 'renew', '--config', world.config], {
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
  const exited = new Promise<CliRun>((resolve) => {
    child.on('close', (code, sig) => {
      transcript.push(stdout, stderr);
      resolve({ code, signal: sig, stdout, stderr });
    });
  });
  // A safety net only (the assertions are on what the process did, not on how long it took).
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    while (world.issuer.stats().faultedRequests === faultedBefore) {
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    child.kill(signal);
    return await exited;
  } finally {
    clearTimeout(killer);
  }
}

describe('renew stopped by SIGTERM or SIGINT while a refresh is in flight', () => {
  let world: World;

  before(async () => {
    world = await createWorld({ accessTokenTtl: 600 });
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'a', 'vo', { scope: 'storage.read:/', min_lifetime: 60 })}${tokenSection(world, 'b', 'vo', { scope: 'compute.read', min_lifetime: 60 })}`,
    );
    assert.equal((await world.setup('vo')).code, 0);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  for (const [signal, status] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal}: finishes and saves the refresh in flight, starts nothing new, exits ${status}`, async () => {
      for (const f of await readdir(world.tokens)) await rm(join(world.tokens, f));
      world.issuer.setFault('slow');
      let run: CliRun;
      try {
        run = await renewInterrupted(world, signal);
      } finally {
        world.issuer.setFault('none');
      }
      assert.equal(run.signal, null, 'the process exited by itself, it was not killed by the signal');
      assert.equal(run.code, status, run.stderr);
      assert.match(run.stderr, new RegExp(`renew: ${signal} received: finishing the refresh in flight`));
      assert.match(
        run.stderr,
        new RegExp(`^tokenwarden: renew: stopped by ${signal}; not done: \\[token b\\]$`, 'm'),
      );
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      // The refresh in flight was finished: its token written, nothing half-written anywhere.
      assert.deepEqual(await readdir(world.tokens), ['a.token']);
      // The credential's lock lives beside it; no temp file is left.
      const accounts = (await readdir(join(world.state, 'accounts'))).filter((f) => f !== '.vo.cred.lock');
      assert.deepEqual(accounts, ['vo.cred']);
      // Its rotated refresh token was saved: the stored one is the live one, and works.
      assert.equal(await storedRefreshTokenState(world, 'vo'), 'live');
      const next = await runCli(['renew', '--config', world.config]);
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.stdout, /1 renewed, 1 still fresh, 0 failed/);
      assert.equal(world.issuer.stats().reuseDetected, 0);
      assert.equal(world.issuer.stats().revokedGrants, 0);
    });
  }
});
