import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findLeaks } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/**
 * Commands that need one account (setup, add, import-oidc-agent) are not stopped by a mistake in
 * another section; a mistake in that account's own section still stops them, with its own message.
 */
describe("one account's commands and a broken section elsewhere", () => {
  let world: World;

  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, []);
  });

  it('setup of a sound account works while another [token] and [account] are broken', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'bad', 'vo', { min_lifetim: 60 })}` +
        '[account other]\ntoken_request_url = not a url\nclient_id = x\nclient_secret_file = /x\n\n',
    );
    const run = await world.setup('vo');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout + run.stderr, /\[account vo\]/);
  });

  it("setup of an account whose own section is broken fails with that section's message", async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}[account broken]\npassword_file = relative.pw\n\n` +
        tokenSection(world, 'bad', 'vo', { min_lifetim: 60 }),
    );
    const run = await world.setup('broken');
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^tokenwarden: ${world.config.replaceAll('.', '\\.')} line \\d+: Config for \\[account broken\\]: password_file = "relative\\.pw" is not an absolute path`,
        'm',
      ),
    );
    assert.doesNotMatch(run.stderr, /token bad/, "not another section's error");
  });
});
