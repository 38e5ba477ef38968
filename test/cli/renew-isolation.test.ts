import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

const esc = (s: string) => s.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface StatusJson {
  tokens: Array<{ token: string; state: string; last_error: string | null; warning: string | null }>;
  problems: string[];
}

async function statusOf(
  world: World,
  config = world.config,
): Promise<{ code: number | null; json: StatusJson }> {
  const run = await runCli(['status', '--config', config, '--json']);
  return { code: run.code, json: JSON.parse(run.stdout) as StatusJson };
}

function row(status: StatusJson, token: string) {
  const r = status.tokens.find((t) => t.token === token);
  assert.ok(r, `status has [token ${token}]`);
  return r;
}

describe('renew: a broken section fails only the tokens that depend on it', () => {
  let world: World;
  const passwords: Record<string, string> = {};

  before(async () => {
    world = await createWorld();
    await world.writeConfig(refreshAccount(world, 'vo'));
    assert.equal((await world.setup('vo')).code, 0);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world, { passwords }));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('renews the sound tokens, reports each broken one with its config line, exits 3', async () => {
    await mkdir(join(world.dir, 'dir.pw'), { recursive: true });
    await world.writeConfig(
      [
        refreshAccount(world, 'vo'),
        tokenSection(world, 'good', 'vo', { scope: 'storage.read:/' }),
        tokenSection(world, 'typo', 'vo', { lifetime: 5 }),
        tokenSection(world, 'orphan', 'nosuch'),
        '[account nopw]\nissuer = https://issuer.example\n\n',
        tokenSection(world, 'needs-nopw', 'nopw'),
        `[account badpw]\npassword_file = ${join(world.dir, 'dir.pw')}\nissuer = ${world.issuer.url}\n\n`,
        tokenSection(world, 'needs-badpw', 'badpw'),
        tokenSection(world, 'also-good', 'vo', { scope: 'compute.read' }),
      ].join(''),
    );
    const text = await readFile(world.config, 'utf8');
    const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.startsWith(needle)) + 1;
    const file = esc(world.config);
    const run = await runCli(['renew', '--config', world.config, '--json']);
    assert.equal(run.code, 3, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 4, run.stderr);
    assert.match(
      lines[0] as string,
      new RegExp(
        `^tokenwarden: \\[token typo\\] \\(account vo\\): ${file} line ${lineOf('lifetime')}: Config for \\[token typo\\]: unknown option lifetime`,
      ),
    );
    assert.match(
      lines[1] as string,
      new RegExp(
        `^tokenwarden: \\[token orphan\\] \\(account nosuch\\): ${file} line ${lineOf('account = nosuch')}: Config for \\[token orphan\\]: missing \\[account nosuch\\] section`,
      ),
    );
    assert.match(
      lines[2] as string,
      new RegExp(
        `^tokenwarden: \\[token needs-nopw\\] \\(account nopw\\): ${file} line ${lineOf('[account nopw]')}: Config for \\[account nopw\\]: missing password_file`,
      ),
    );
    assert.match(
      lines[3] as string,
      new RegExp(
        `^tokenwarden: \\[token needs-badpw\\] \\(account badpw\\): ${file} line ${lineOf('[account badpw]')}: Config for \\[account badpw\\]: password_file .*dir\\.pw: is a directory`,
      ),
    );
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    const summary = JSON.parse(run.stdout) as { renewed: number; failed: number };
    assert.equal(summary.renewed, 2);
    assert.equal(summary.failed, 4);
    assert.deepEqual((await readdir(world.tokens)).sort(), ['also-good.token', 'good.token']);

    const status = await statusOf(world);
    assert.equal(status.code, 1);
    assert.equal(row(status.json, 'good').state, 'ok');
    assert.equal(row(status.json, 'also-good').state, 'ok');
    assert.equal(row(status.json, 'typo').state, 'broken');
    assert.match(
      row(status.json, 'typo').last_error ?? '',
      /Config for \[token typo\]: unknown option lifetime/,
    );
    assert.equal(row(status.json, 'orphan').state, 'broken');
    assert.equal(row(status.json, 'needs-nopw').state, 'broken');
    assert.match(
      row(status.json, 'needs-nopw').last_error ?? '',
      /Config for \[account nopw\]: missing password_file/,
    );
  });

  it('a broken section no token uses still fails the run, after the others are renewed', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}[account unused]\nfrobnicate = 1\n\n${tokenSection(world, 'good', 'vo', { scope: 'storage.read:/', min_lifetime: 100000 })}`,
    );
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /1 renewed/);
    assert.match(run.stderr, /^tokenwarden: .* Config for \[account unused\]: unknown option frobnicate/m);
  });

  it('a file that cannot be parsed still stops everything', async () => {
    await writeFile(world.config, `[account vo\npassword_file = x\n`);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /^tokenwarden: .*config\.ini line 1: option before any section header\n/);
    assert.doesNotMatch(run.stderr, /^tokenwarden: \[token /m);
    assert.equal(run.stdout, '');
  });

  it('other commands keep refusing a config with a broken section', async () => {
    await world.writeConfig(`${refreshAccount(world, 'vo', 'frobnicate = 1')}`);
    const run = await runCli(['units', '--config', world.config]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /Config for \[account vo\]: unknown option frobnicate/);
  });
});

describe('renew fails while tokens are fresh when an account cannot renew', () => {
  let world: World;
  const passwords: Record<string, string> = {};
  const pw = () => join(world.dir, 'vo.pw');
  const cred = () => join(world.state, 'accounts', 'vo.cred');
  const statusFile = () => join(world.state, 'status', 'vo.json');

  before(async () => {
    world = await createWorld();
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    assert.equal((await world.setup('vo')).code, 0);
    passwords.vo = (await readFile(pw(), 'utf8')).split('\n')[0] as string;
    const first = await runCli(['renew', '--config', world.config]);
    assert.equal(first.code, 0, first.stderr);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world, { passwords }));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('a wrong password: exit 4 at every run, no grant spent, the verdict reused while nothing changes', async () => {
    const token = await readFile(join(world.tokens, 't.token'), 'utf8');
    await writeFile(pw(), 'not-the-password\n');
    const requests = JSON.stringify(world.issuer.stats());
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stdout, /0 renewed, 1 still fresh, 0 failed/);
    assert.match(
      run.stderr,
      new RegExp(
        `^tokenwarden: \\[account vo\\]: ${esc(world.config)} line \\d+: Config for \\[account vo\\]: cannot decrypt credential_file ${esc(cred())} with password_file ${esc(pw())}`,
      ),
    );
    const recorded = await readFile(statusFile(), 'utf8');
    assert.match(recorded, /"verdict":"decrypt-failed"/);
    // Nothing changed: the verdict is reused (not decrypted again, so not written again).
    const again = await runCli(['renew', '--config', world.config]);
    assert.equal(again.code, 4, again.stderr);
    assert.equal(again.stderr, run.stderr);
    assert.equal(await readFile(statusFile(), 'utf8'), recorded, 'no new decryption was recorded');
    assert.equal(JSON.stringify(world.issuer.stats()), requests, 'no request reached the issuer');
    assert.equal(await readFile(join(world.tokens, 't.token'), 'utf8'), token);
    const status = await statusOf(world);
    assert.equal(status.code, 1);
    assert.equal(row(status.json, 't').state, 'failing');
    assert.match(row(status.json, 't').last_error ?? '', /cannot decrypt credential_file/);

    // The password fixed: the file changed, so the credential is decrypted again, and found good.
    await writeFile(pw(), `${passwords.vo}\n`);
    const fixed = await runCli(['renew', '--config', world.config]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(await readFile(statusFile(), 'utf8'), /"verdict":"ok"/);
    const clear = await statusOf(world);
    assert.equal(clear.code, 0);
    assert.equal(row(clear.json, 't').state, 'ok');
  });

  it('needs-login recorded: exit 4 while the token is fresh, without a request; cleared by a new setup', async () => {
    await world.issuer.revokeAllGrants();
    const forced = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(forced.code, 4, forced.stderr);
    assert.match(forced.stderr, /^tokenwarden: \[token t\] \(account vo\): account vo: /);
    const requests = JSON.stringify(world.issuer.stats());
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stdout, /1 still fresh/);
    assert.match(
      run.stderr,
      /^tokenwarden: \[account vo\]: account vo: .*run: tokenwarden setup vo --config/,
    );
    assert.equal(JSON.stringify(world.issuer.stats()), requests, 'no request reached the issuer');
    assert.equal(row((await statusOf(world)).json, 't').state, 'needs-login');

    assert.equal((await world.setup('vo')).code, 0);
    const after = await runCli(['renew', '--config', world.config]);
    assert.equal(after.code, 0, after.stderr);
    const status = await statusOf(world);
    assert.equal(status.code, 0, JSON.stringify(status.json));
    assert.equal(row(status.json, 't').state, 'ok');
    assert.equal(row(status.json, 't').last_error, null);
  });

  it('no credential: exit 4 while the token is fresh', async () => {
    const saved = await readFile(cred());
    await rm(cred());
    try {
      const run = await runCli(['renew', '--config', world.config]);
      assert.equal(run.code, 4, run.stderr);
      assert.match(run.stderr, /^tokenwarden: \[account vo\]: no credential for \[account vo\] yet/);
    } finally {
      await writeFile(cred(), saved, { mode: 0o600 });
    }
  });
});

describe('status tells the truth', () => {
  let world: World;

  before(async () => {
    world = await createWorld({ accessTokenTtl: 600 });
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    assert.equal((await world.setup('vo')).code, 0);
    assert.equal((await runCli(['renew', '--config', world.config])).code, 0);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('a failure that the latest run found gone is cleared', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo', { min_lifetime: 100000 })}`,
    );
    world.issuer.setFault('error500');
    try {
      assert.equal((await runCli(['renew', '--config', world.config])).code, 5);
    } finally {
      world.issuer.setFault('none');
    }
    assert.equal(row((await statusOf(world)).json, 't').state, 'failing');
    // The token on disk is still good for the config as it is now: nothing to renew, nothing failing.
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo', { min_lifetime: 60 })}`,
    );
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /1 still fresh/);
    const status = await statusOf(world);
    assert.equal(status.code, 0);
    assert.equal(row(status.json, 't').state, 'ok');
    assert.equal(row(status.json, 't').last_error, null);
  });

  it("never quotes another config's entries from a shared state directory", async () => {
    const other = join(world.dir, 'other.ini');
    await writeFile(
      other,
      `[DEFAULT]\nstate_dir = ${world.state}\n\n${refreshAccount(world, 'vo')}[token t]\naccount = vo\ntoken_path = ${join(world.tokens, 'other.token')}\nmin_lifetime = 100000\n`,
    );
    world.issuer.setFault('error500');
    try {
      assert.equal((await runCli(['renew', '--config', other])).code, 5);
    } finally {
      world.issuer.setFault('none');
    }
    assert.match(row((await statusOf(world, other)).json, 't').last_error ?? '', /HTTP 500|unusable answer/);
    const mine = await statusOf(world);
    assert.equal(mine.code, 0, JSON.stringify(mine.json));
    assert.equal(row(mine.json, 't').state, 'ok');
    assert.equal(row(mine.json, 't').last_error, null);
  });

  it('warns about a min_lifetime at least the issued lifetime, in renew and status', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo', { min_lifetime: 600 })}`,
    );
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.trim().split('\n');
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(
      warnings[0] as string,
      /^tokenwarden: warning: \[token t\]: min_lifetime = 600 is at least the lifetime of the tokens the issuer grants \(600 s\)/,
    );
    const status = await statusOf(world);
    assert.match(row(status.json, 't').warning ?? '', /min_lifetime = 600 .*\(600 s\)/);
    const text = await runCli(['status', '--config', world.config]);
    assert.match(text.stdout, /warning: \[token t\]: min_lifetime = 600/);
  });

  it('--help of renew and status documents every exit status', async () => {
    for (const cmd of ['renew', 'status']) {
      const run = await runCli([cmd, '--help']);
      assert.equal(run.code, 0);
      const help = run.stdout.replaceAll(/\s+/g, ' ');
      assert.match(help, /What its exit status says: 0 /);
      for (const code of cmd === 'renew' ? [1, 2, 3, 4, 5, 70] : [1, 2, 3, 70]) {
        assert.match(help, new RegExp(`[;:] ${code} `), `${cmd} --help names exit status ${code}`);
      }
    }
  });
});

describe('a run with every token fresh stays cheap', () => {
  let world: World;
  const hook = fileURLToPath(new URL('../helpers/no-openid-client.js', import.meta.url));
  const noOidc = { env: { NODE_OPTIONS: `--import ${hook}` } };

  before(async () => {
    world = await createWorld();
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    assert.equal((await world.setup('vo')).code, 0);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('renew and status never load the OIDC client when nothing is due', async () => {
    // The hook works: a run with work to do needs the client, and fails without it.
    const due = await runCli(['renew', '--config', world.config], noOidc);
    assert.notEqual(due.code, 0);
    assert.match(due.stderr, /openid-client was loaded/);
    assert.equal((await runCli(['renew', '--config', world.config])).code, 0);
    const fresh = await runCli(['renew', '--config', world.config], noOidc);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /0 renewed, 1 still fresh/);
    const status = await runCli(['status', '--config', world.config], noOidc);
    assert.equal(status.code, 0, status.stderr);
  });
});
