import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestIssuerFault } from '../../src/testing/index.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/**
 * The issuer misbehaves while valid tokens are on disk and due (min_lifetime above their lifetime):
 * the old tokens must stay byte for byte, the run must end within its deadline, exit non-zero, and say why.
 */
describe('renew when the issuer fails', () => {
  let world: World;
  const files = () => ['a', 'b'].map((n) => join(world.tokens, `${n}.token`));
  const snapshot = async () => Promise.all(files().map((f) => readFile(f, 'utf8')));

  before(async () => {
    world = await createWorld({ accessTokenTtl: 600 });
    await world.writeConfig(
      `${refreshAccount(world, 'vo', 'timeout = 1')}
${tokenSection(world, 'a', 'vo', { audience: 'https://a.example', scope: 'storage.read:/' })}
${tokenSection(world, 'b', 'vo', { audience: 'https://b.example', scope: 'compute.read' })}`,
    );
    assert.equal((await world.setup('vo')).code, 0);
    const first = await runCli(['renew', '--config', world.config]);
    assert.equal(first.code, 0, first.stderr);
    // From now on every run must renew, while the tokens on disk are still valid.
    const text = await readFile(world.config, 'utf8');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(world.config, text.replaceAll('scope = ', 'min_lifetime = 100000\nscope = '));
  });

  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, []);
  });

  const cases: Array<[TestIssuerFault, RegExp]> = [
    ['error500', /HTTP 500|unusable answer/],
    ['garbage', /unusable answer/],
    ['hang', /no answer from the issuer within 1s/],
  ];
  for (const [fault, message] of cases) {
    it(`keeps the old tokens when the token endpoint answers ${fault}`, async () => {
      const old = await snapshot();
      world.issuer.setFault(fault);
      try {
        const started = Date.now();
        const run = await runCli(['renew', '--config', world.config, '--timeout', '20']);
        const took = Date.now() - started;
        assert.equal(run.code, 5, run.stderr);
        const lines = run.stderr.trim().split('\n');
        assert.equal(lines.length, 2, run.stderr);
        assert.match(lines[0] as string, /^tokenwarden: \[token a\] \(account vo\): /);
        assert.match(lines[1] as string, /^tokenwarden: \[token b\] \(account vo\): /);
        assert.match(run.stderr, message);
        assert.ok(took < 15_000, `run took ${took} ms`);
        assert.deepEqual(await snapshot(), old);
        const status = JSON.parse((await runCli(['status', '--config', world.config, '--json'])).stdout) as {
          tokens: Array<{ state: string; last_error: string; last_renewal?: string }>;
        };
        assert.deepEqual(
          status.tokens.map((t) => t.state),
          ['failing', 'failing'],
        );
        for (const t of status.tokens) assert.ok(t.last_renewal, 'the last success stays on record');
      } finally {
        world.issuer.setFault('none');
      }
    });
  }

  it('recovers once the issuer is back, without having burnt the refresh token', async () => {
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 renewed/);
    assert.equal(world.issuer.stats().reuseDetected, 0);
  });

  it('keeps the old tokens when the issuer is down', async () => {
    const old = await snapshot();
    await world.issuer.close();
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 5);
    assert.match(run.stderr, /cannot reach the issuer \(ECONNREFUSED\)/);
    assert.deepEqual(await snapshot(), old);
  });
});

describe('renew --timeout bounds the whole run', () => {
  let world: World;
  before(async () => {
    world = await createWorld({ accessTokenTtl: 600 });
    // No `timeout =`: each request may take the default 30 s, far beyond the run's deadline below.
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'a', 'vo', { min_lifetime: 100000 })}`,
    );
    assert.equal((await world.setup('vo')).code, 0);
  });
  after(async () => world.close());

  it('a hung issuer is given up at the run deadline, not after each request timeout', async () => {
    world.issuer.setFault('hang');
    try {
      const started = Date.now();
      const run = await runCli(['renew', '--config', world.config, '--timeout', '2']);
      const took = Date.now() - started;
      assert.equal(run.code, 5, run.stderr);
      assert.match(
        run.stderr,
        /^tokenwarden: \[token a\] \(account vo\): refresh: the run reached its deadline while waiting for the issuer/,
      );
      // The request alone would have waited 30 s; the run must stop near its 2 s deadline.
      assert.ok(took < 20_000, `run took ${took} ms`);
    } finally {
      world.issuer.setFault('none');
    }
  });
});
