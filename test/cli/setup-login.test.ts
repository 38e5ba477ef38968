import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, type World } from '../helpers/world.js';

/** setup's login when the human does not finish it: out of time, code expired, or refused. */
describe('setup when the login is not finished', () => {
  let world: World | undefined;
  afterEach(async () => {
    if (world === undefined) return;
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    world = undefined;
    assert.deepEqual(leaks, []);
  });

  const setup = (w: World, extra: string[], onCode?: (code: string) => void) => {
    let seen = '';
    return runCli(['setup', 'vo', '--config', w.config, '--issuer', w.issuer.url, ...extra], {
      onStderr: (chunk) => {
        seen += chunk;
        const m = /enter the code: (\S+)/.exec(seen);
        if (m?.[1] && onCode) {
          onCode(m[1]);
          seen = '';
        }
      },
    });
  };

  it('--timeout ran out in the device flow: says nobody approved, where, and how to get more time', async () => {
    world = await createWorld();
    const run = await setup(world, ['--timeout', '2']);
    assert.equal(run.code, 4, run.stderr);
    const lines = run.stderr.trimEnd().split('\n');
    assert.deepEqual(lines.slice(-2), [
      'tokenwarden: setup vo: nobody approved the login within 2 s (--timeout)',
      `  run setup again and approve the login at ${world.issuer.url}/device within 2 s, or give a longer --timeout SECS`,
    ]);
    assert.doesNotMatch(run.stderr, /renew --timeout|slow/);
  });

  it('--timeout ran out in the code flow: the same, pointing at the URL shown', async () => {
    world = await createWorld();
    const run = await setup(world, ['--timeout', '2', '--flow', 'code']);
    assert.equal(run.code, 4, run.stderr);
    assert.deepEqual(run.stderr.trimEnd().split('\n').slice(-2), [
      'tokenwarden: setup vo: nobody approved the login within 2 s (--timeout)',
      '  run setup again and approve the login at the URL setup shows within 2 s, or give a longer --timeout SECS',
    ]);
  });

  it('a device code that expires first is said as such', async () => {
    world = await createWorld({ deviceCodeTtl: 2 });
    const run = await setup(world, ['--timeout', '30']);
    assert.equal(run.code, 4, run.stderr);
    assert.deepEqual(run.stderr.trimEnd().split('\n').slice(-2), [
      'tokenwarden: setup vo: the login code expired before anyone approved the login',
      `  run setup again and approve the login at ${world.issuer.url}/device before the code expires`,
    ]);
  });

  it('access_denied at login exits 4: the issuer answered, the human said no', async () => {
    world = await createWorld();
    const w = world;
    const denials: Promise<void>[] = [];
    const run = await setup(w, [], (code) => denials.push(w.issuer.denyDeviceCode(code)));
    await Promise.all(denials);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /^tokenwarden: setup vo: the login was refused: issuer answered access_denied/m);
  });
});
