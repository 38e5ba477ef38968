import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/** invalid_scope and invalid_client from renew: what was asked and granted, and where the client came from. */
describe('renew explains invalid_scope and invalid_client', () => {
  let world: World;
  const robotSecret = 'robot-secret-right-8f7e6d';

  before(async () => {
    world = await createWorld();
    await world.issuer.addClient({
      client_id: 'robot',
      client_secret: robotSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'compute.read',
    });
  });

  after(async () => {
    const leaks = findLeaks([...(await collectSecrets(world)), robotSecret]);
    await world.close();
    assert.deepEqual(leaks, []);
  });

  it('invalid_scope names the scopes asked and granted, and setup --scope', async () => {
    const granted = 'openid offline_access storage.read:/';
    await world.writeConfig(refreshAccount(world, 'vo'));
    assert.equal((await world.setup('vo', granted)).code, 0);
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}\n${tokenSection(world, 'a', 'vo', { scope: 'compute.cancel' })}`,
    );
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 5, run.stderr);
    // renew puts the hint in parentheses at the end of the token's one line.
    const m =
      /^tokenwarden: \[token a\] \(account vo\): account vo: the issuer refused the scope asked for \(issuer answered invalid_scope \(.*\)\); asked: compute\.cancel; the account was granted: ([^(]+) \(ask only for scopes among those granted, or log in for more: (.*)\)\n$/.exec(
        run.stderr,
      );
    assert.ok(m, run.stderr);
    assert.deepEqual(new Set(m[1]?.split(' ')), new Set(granted.split(' ')));
    assert.equal(
      m[2],
      `tokenwarden setup vo --config ${world.config} --scope "${m[1]} compute.cancel" --force`,
    );
  });

  it('invalid_client names client_id and the config line client_id and client_secret came from', async () => {
    const secretFile = join(world.dir, 'robot.secret');
    await writeFile(secretFile, 'a-wrong-secret-123456\n', { mode: 0o600 });
    await world.writeConfig(`[account robot]
token_request_url = ${world.issuer.url}/token
client_id = robot
client_secret_file = ${secretFile}

${tokenSection(world, 'r', 'robot', { scope: 'compute.read' })}`);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 5, run.stderr);
    assert.equal(
      run.stderr,
      `tokenwarden: [token r] (account robot): account robot: the issuer does not accept client_id "robot" with its client_secret (issuer answered invalid_client (client authentication failed)); client_id and client_secret are from ${world.config} line 4: Config for [account robot] ` +
        '(check client_id and client_secret (or client_secret_file) against the client registered at the issuer)\n',
    );
  });
});
