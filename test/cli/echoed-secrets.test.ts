import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/**
 * An issuer that quotes the request back in error_description (as Spring-based issuers such as INDIGO
 * IAM do): the refresh token, device code and Basic credentials we sent must not reach stderr, status
 * or the status files. The issuer's ledger holds every value it echoed, so the leak audit looks for each.
 */
describe('secrets an issuer echoes in its errors', () => {
  let world: World;

  before(async () => {
    world = await createWorld();
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}\n${tokenSection(world, 'a', 'vo', { min_lifetime: 100000 })}`,
    );
    assert.equal((await world.setup('vo')).code, 0);
  });

  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, []);
  });

  it('renew, status --json and the status file show the error with the secrets cut out', async () => {
    world.issuer.setFault('echo-secrets');
    let run: Awaited<ReturnType<typeof runCli>>;
    try {
      run = await runCli(['renew', '--config', world.config]);
    } finally {
      world.issuer.setFault('none');
    }
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /\[token a\] \(account vo\): .*invalid_request \(Bad request \(/);
    assert.match(run.stderr, /refresh_token: \[REDACTED\]/);
    assert.match(run.stderr, /Authorization: Basic \[REDACTED\]/);
    const status = await runCli(['status', '--config', world.config, '--json']);
    assert.match(status.stdout, /refresh_token: \[REDACTED\]/);
    const dir = join(world.state, 'status');
    const files = await readdir(dir);
    assert.ok(files.length > 0);
    const secrets = await collectSecrets(world);
    for (const f of files) {
      const text = await readFile(join(dir, f), 'utf8');
      assert.match(text, /\[REDACTED\]/);
      for (const s of secrets) assert.ok(!text.includes(s), `${f} holds a secret (${s.slice(0, 6)}…)`);
    }
    // The echoed values are in the audit: without them it would prove nothing.
    assert.ok(secrets.length > 3);
  });

  it("setup's device flow shows the error with the device code and credentials cut out", async () => {
    world.issuer.setFault('echo-secrets');
    let run: Awaited<ReturnType<typeof runCli>>;
    try {
      run = await world.setup('other', undefined, ['--issuer', world.issuer.url]);
    } finally {
      world.issuer.setFault('none');
    }
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /device_code: \[REDACTED\]/);
    assert.match(run.stderr, /Authorization: Basic \[REDACTED\]/);
    assert.doesNotMatch(run.stderr, /cause:/);
  });
});
