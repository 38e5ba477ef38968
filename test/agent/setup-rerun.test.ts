import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Secret } from '../../src/secret.js';
import { createFileStore } from '../../src/store/index.js';
import { startAgent, stopAgent } from '../helpers/agent.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/** The stored record of `account` (client id, needs-login), opened with its password file. */
async function storedRecord(world: World, account: string) {
  const password = (await readFile(join(world.dir, `${account}.pw`), 'utf8')).split('\n')[0] as string;
  const store = createFileStore({
    credentialFile: () => join(world.state, 'accounts', `${account}.cred`),
    lockFile: () => join(world.state, 'locks', `${account}.lock`),
    password: async () => new Secret(password),
  });
  try {
    const record = await store.load(account);
    assert.ok(record, `a credential for ${account}`);
    return record;
  } finally {
    await store.close();
  }
}

/** `setup` over an existing account: with --force where setup asks for it. */
async function setupAgain(world: World, name: string) {
  const help = await runCli(['setup', '--help']);
  return world.setup(name, undefined, help.stdout.includes('--force') ? ['--force'] : []);
}

describe('setup re-run for an account the agent holds', () => {
  let world: World;
  let agent: Awaited<ReturnType<typeof startAgent>>;

  before(async () => {
    world = await createWorld();
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    const setup = await world.setup('vo');
    assert.equal(setup.code, 0, setup.stderr);
    agent = await startAgent(world);
    const add = await runCli(['add', 'vo', '--config', world.config], { env: agent.env });
    assert.equal(add.code, 0, add.stderr);
  });

  after(async () => {
    await stopAgent(agent.child);
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI or agent output');
  });

  it('the agent refreshes the new credential with its new client; renew keeps working', async () => {
    const first = await runCli(['token', 'vo', '--force'], { env: agent.env, tokenOnStdout: true });
    assert.equal(first.code, 0, first.stderr);
    const oldClient = (await storedRecord(world, 'vo')).clientId;

    const again = await setupAgain(world, 'vo');
    assert.equal(again.code, 0, again.stderr);
    const renewed = await storedRecord(world, 'vo');
    assert.notEqual(renewed.clientId, oldClient, 'setup registered a new client');

    // The agent still holds the account from before the new setup; it must use the new record's client.
    const forced = await runCli(['token', 'vo', '--force'], { env: agent.env, tokenOnStdout: true });
    assert.equal(forced.code, 0, forced.stderr);
    const after = await storedRecord(world, 'vo');
    assert.equal(after.needsLogin, undefined, 'the new, valid credential is not marked needs-login');
    assert.equal(after.clientId, renewed.clientId);

    const renew = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(renew.code, 0, renew.stderr);
    assert.equal(world.issuer.stats().reuseDetected, 0);
    assert.equal(world.issuer.stats().revokedGrants, 0);
  });
});
