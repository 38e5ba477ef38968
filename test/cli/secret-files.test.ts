import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

describe('renew and the permissions of secret files', () => {
  let world: World;
  let pw: string;

  before(async () => {
    world = await createWorldWithAccount('vo');
    await world.writeConfig(`${refreshAccount(world, 'vo')}\n${tokenSection(world, 'a', 'vo')}`);
    pw = join(world.dir, 'vo.pw');
  });

  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, []);
  });

  it('a password file readable by every user: one warning naming it and the fix; the run goes on', async () => {
    await chmod(pw, 0o644);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stderr,
      `tokenwarden: warning: ${world.config} line 4: Config for [account vo]: password_file ${pw} is readable by every user (mode 0644)\n` +
        `  run: chmod 600 ${pw} (or chmod o-r ${pw})\n`,
    );
  });

  it('a password file writable by its group is refused before any request', async () => {
    await chmod(pw, 0o660);
    const stats = world.issuer.stats();
    const run = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        // One line per token of that account (the others would still renew), with the fix in it.
        `^tokenwarden: \\[token a\\] \\(account vo\\): ${world.config} line 4: Config for \\[account vo\\]: password_file ${pw} is writable by its group \\(mode 0660\\): whoever can write it can change the secret \\(run: chmod go-w ${pw} \\(or chmod 600 ${pw}\\)\\)\n$`,
      ),
    );
    assert.deepEqual(world.issuer.stats(), stats);
    await chmod(pw, 0o600);
    const ok = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '');
  });
});
