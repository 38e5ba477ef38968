import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

describe('renew with a bad config: one line naming file, section and option; nothing written', () => {
  let world: World;
  /** Passwords the tests overwrote: still secrets, and still the keys of the records they made. */
  const passwords: Record<string, string> = {};

  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world, { passwords }));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  async function expectError(body: string, code: number, pattern: RegExp) {
    await world.writeConfig(body);
    const before = JSON.stringify(world.issuer.stats());
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, code, run.stderr);
    const first = run.stderr.split('\n')[0] as string;
    assert.match(first, pattern);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(await readdir(world.tokens), [], 'no token written');
    assert.equal(JSON.stringify(world.issuer.stats()), before, 'no request reached the issuer');
  }

  it('missing [account] section', async () => {
    await expectError(
      tokenSection(world, 't', 'nosuch'),
      3,
      /Config for \[token t\]: missing \[account nosuch\] section/,
    );
  });

  it('unknown option', async () => {
    await expectError(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo', { lifetime: 5 })}`,
      3,
      new RegExp(`${world.config.replaceAll('/', '\\/')}.*\\[token t\\].*lifetime`),
    );
  });

  it('bad number', async () => {
    await expectError(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo', { min_lifetime: 'soon' })}`,
      3,
      /\[token t\].*min_lifetime.*soon/,
    );
  });

  it('unreadable password file', async () => {
    await mkdir(join(world.dir, 'dir.pw'), { recursive: true });
    await expectError(
      `[account vo]\npassword_file = ${join(world.dir, 'dir.pw')}\nissuer = ${world.issuer.url}\n\n${tokenSection(world, 't', 'vo')}`,
      3,
      /\[account vo\].*dir\.pw/,
    );
    await expectError(
      `[account vo]\npassword_file = ${join(world.dir, 'missing.pw')}\nissuer = ${world.issuer.url}\n\n${tokenSection(world, 't', 'vo')}`,
      3,
      /\[account vo\].*missing\.pw/,
    );
  });

  it('wrong password', async () => {
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    assert.equal((await world.setup('vo')).code, 0);
    passwords.vo = (await readFile(join(world.dir, 'vo.pw'), 'utf8')).split('\n')[0] as string;
    await writeFile(join(world.dir, 'vo.pw'), 'not-the-password\n');
    // Exit 4 (README: a credential needs attention, e.g. a wrong password), naming the config line and
    // both files the admin must check.
    const esc = (path: string) => path.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expectError(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`,
      4,
      new RegExp(
        `^tokenwarden: \\[token t\\] \\(account vo\\): ${esc(world.config)} line \\d+: Config for \\[account vo\\]: ` +
          `cannot decrypt credential_file ${esc(join(world.state, 'accounts', 'vo.cred'))} ` +
          `with password_file ${esc(join(world.dir, 'vo.pw'))}: wrong password, or the file was altered`,
      ),
    );
  });

  it('no config at all', async () => {
    const run = await runCli(['renew', '--config', join(world.dir, 'nope.ini')]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /nope\.ini/);
  });

  it('unknown command and option', async () => {
    const a = await runCli(['renw']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /unknown command "renw"/);
    const b = await runCli(['renew', '--frobnicate']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /renew: unknown option --frobnicate/);
  });
});
