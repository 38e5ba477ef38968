import assert from 'node:assert/strict';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/**
 * A token that could not be written must not cost a refresh grant: owner, group and token_path are
 * checked before any network call, and the error names the config file, line, section and option.
 */
describe('renew checks what it will write before it asks the issuer', () => {
  let world: World;
  const refreshes = () => world.issuer.stats().tokenRequests.refresh_token ?? 0;

  before(async () => {
    world = await createWorldWithAccount('vo');
  });

  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('an unknown owner is a config error before any refresh; the account’s other tokens renew', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'good', 'vo')}${tokenSection(world, 'bad', 'vo', { owner: 'no-such-user-tw' })}`,
    );
    const before = refreshes();
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^tokenwarden: \\[token bad\\] \\(account vo\\): ${world.config} line \\d+: Config for \\[token bad\\]: owner: no user named "no-such-user-tw"`,
      ),
    );
    assert.equal(refreshes() - before, 1, 'one refresh, for the good token only');
    assert.ok((await readFile(join(world.tokens, 'good.token'), 'utf8')).startsWith('eyJ'));
  });

  it('a symlinked token_path is refused without spending a grant', async () => {
    const target = join(world.dir, 'elsewhere');
    await writeFile(target, 'not yours\n');
    await symlink(target, join(world.tokens, 'linked.token'));
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 'linked', 'vo')}`);
    const before = refreshes();
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /Config for \[token linked\]: token_path: refusing to write .*linked\.token: it is a symbolic link/,
    );
    assert.equal(refreshes(), before, 'no refresh grant spent');
    assert.equal(await readFile(target, 'utf8'), 'not yours\n');
  });

  it('a token_path in a missing directory is refused without spending a grant', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}[token lost]\naccount = vo\ntoken_path = ${join(world.dir, 'no', 'such', 'dir', 't.token')}\n`,
    );
    const before = refreshes();
    const run = await runCli(['renew', '--config', world.config]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Config for \[token lost\]: token_path: cannot write .*t\.token/);
    assert.equal(refreshes(), before, 'no refresh grant spent');
  });
});
