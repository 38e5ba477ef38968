import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

describe('setup', () => {
  let world: World;
  const manualSecret = 'manual-client-secret-9d8c7b6a';

  before(async () => {
    world = await createWorld({ autoApproveInteractions: 'carol' });
    await world.issuer.addClient({
      client_id: 'manual-client',
      client_secret: manualSecret,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: 'openid offline_access storage.read:/ compute.read',
    });
  });

  after(async () => {
    const leaks = findLeaks([...(await collectSecrets(world)), manualSecret]);
    await world.close();
    assert.deepEqual(leaks, []);
  });

  it('registers a client, runs the device flow and prints the [account] section', async () => {
    await world.writeConfig('');
    const run = await world.setup('dyn', 'openid storage.read:/', ['--issuer', world.issuer.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /open http:\/\/127\.0\.0\.1:\d+\/device and enter the code: \S+/);
    const pw = join(world.state, 'dyn.pw');
    assert.equal(run.stdout, `[account dyn]\npassword_file = ${pw}\nissuer = ${world.issuer.url}\n`);
    assert.equal((await stat(pw)).mode & 0o777, 0o600);
    const cred = join(world.state, 'accounts', 'dyn.cred');
    assert.equal((await stat(cred)).mode & 0o777, 0o600);
    const sealed = await readFile(cred, 'utf8');
    for (const s of await collectSecrets(world))
      assert.ok(!sealed.includes(s), 'no secret in clear in the record');
    // The password setup generated is 256 random bits: sealed with the light KDF cost, not the default.
    assert.equal((JSON.parse(sealed) as { kdf: { N: number } }).kdf.N, 2 ** 10);
    assert.equal((await readFile(pw, 'utf8')).trim().length, 43);
    // offline_access is added when missing, so the account gets a refresh token.
    await world.writeConfig(`${run.stdout}\n${tokenSection(world, 't', 'dyn', { scope: 'storage.read:/' })}`);
    const renew = await runCli(['renew', '--config', world.config]);
    assert.equal(renew.code, 0, renew.stderr);
    // An admin-chosen password keeps the full scrypt cost.
    const human = join(world.dir, 'human.pw');
    await writeFile(human, 'correct horse battery staple\n', { mode: 0o600 });
    await world.writeConfig('');
    const hum = await world.setup('hum', 'openid storage.read:/', [
      '--issuer',
      world.issuer.url,
      '--password-file',
      human,
    ]);
    assert.equal(hum.code, 0, hum.stderr);
    const humSealed = await readFile(join(world.state, 'accounts', 'hum.cred'), 'utf8');
    assert.equal((JSON.parse(humSealed) as { kdf: { N: number } }).kdf.N, 2 ** 15);
  });

  it('--write appends the section to the config, and --manual takes a secret from a file', async () => {
    await world.writeConfig('# site config\n');
    const secretFile = join(world.dir, 'manual.secret');
    await writeFile(secretFile, `${manualSecret}\n`, { mode: 0o600 });
    const run = await world.setup('man', 'openid offline_access storage.read:/', [
      '--issuer',
      world.issuer.url,
      '--manual',
      '--client-id',
      'manual-client',
      '--client-secret-file',
      secretFile,
      '--write',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const config = await readFile(world.config, 'utf8');
    assert.match(config, /# site config\n\n\[account man\]\npassword_file = .*man\.pw\nissuer = http/);
    await writeFile(
      world.config,
      `${config}\n${tokenSection(world, 'm', 'man', { scope: 'storage.read:/' })}`,
    );
    const renew = await runCli(['renew', '--config', world.config, '--json']);
    assert.equal(renew.code, 0, renew.stderr);
  });

  it('--manual reads the secret from standard input, never from argv', async () => {
    await world.writeConfig('');
    const approvals: Promise<void>[] = [];
    const run = await runCli(
      [
        'setup',
        'stdin',
        '--config',
        world.config,
        '--issuer',
        world.issuer.url,
        '--manual',
        '--client-id',
        'manual-client',
        '--scope',
        'openid offline_access compute.read',
      ],
      {
        input: `${manualSecret}\n`,
        onStderr: (c) => {
          const m = /enter the code: (\S+)/.exec(c);
          if (m?.[1]) approvals.push(world.issuer.approveDeviceCode(m[1]));
        },
      },
    );
    await Promise.all(approvals);
    assert.equal(run.code, 0, run.stderr);
  });

  it('--flow code logs in with the authorization code flow and PKCE on a loopback redirect', async () => {
    await world.writeConfig('');
    let followed: Promise<Response> | undefined;
    const run = await runCli(
      [
        'setup',
        'code',
        '--config',
        world.config,
        '--issuer',
        world.issuer.url,
        '--flow',
        'code',
        '--scope',
        'openid offline_access storage.read:/',
      ],
      {
        onStderr: (c) => {
          const m = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(c);
          if (m?.[1] && !followed) followed = fetch(m[1], { redirect: 'follow' });
        },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(followed, 'an authorization URL was printed');
    const landing = await followed;
    assert.match(await landing.text(), /login finished/);
    assert.match(run.stdout, /\[account code\]/);
  });

  it('--client-credentials registers a robot client and saves its secret in a file, no human needed', async () => {
    await world.writeConfig('');
    const run = await runCli([
      'setup',
      'robot',
      '--config',
      world.config,
      '--issuer',
      world.issuer.url,
      '--client-credentials',
      '--scope',
      'compute.read',
      '--write',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const config = await readFile(world.config, 'utf8');
    assert.match(
      config,
      /\[account robot\]\ntoken_request_url = http.*\/token\nclient_id = \S+\nclient_secret_file = /,
    );
    const secretFile = /client_secret_file = (\S+)/.exec(config)?.[1] as string;
    assert.equal((await stat(secretFile)).mode & 0o777, 0o600);
    await writeFile(
      world.config,
      `${config}\n${tokenSection(world, 'r', 'robot', { scope: 'compute.read', audience: 'https://x.example' })}`,
    );
    const renew = await runCli(['renew', '--config', world.config]);
    assert.equal(renew.code, 0, renew.stderr);
  });

  it('--client-credentials --client-secret-file FILE saves the registered secret in FILE', async () => {
    await world.writeConfig('');
    const secretFile = join(world.dir, 'robot2.secret');
    const run = await runCli([
      'setup',
      'robot2',
      '--config',
      world.config,
      '--issuer',
      world.issuer.url,
      '--client-credentials',
      '--client-secret-file',
      secretFile,
      '--scope',
      'compute.read',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`client_secret_file = ${secretFile}\n`));
    assert.equal((await stat(secretFile)).mode & 0o777, 0o600);
    await world.writeConfig(
      `${run.stdout}\n${tokenSection(world, 'r2', 'robot2', { scope: 'compute.read', audience: 'https://x.example' })}`,
    );
    const renew = await runCli(['renew', '--config', world.config]);
    assert.equal(renew.code, 0, renew.stderr);
  });

  it('refuses bad input with a clear message', async () => {
    const a = await runCli(['setup']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /setup needs one ACCOUNT name/);
    const b = await runCli(['setup', 'x', '--config', join(world.dir, 'none.ini')]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /which issuer\?/);
    const c = await runCli(['setup', 'x', '--config', world.config, '--issuer', 'http://example.org']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /must use https/);
  });

  /** A fresh directory for one run's state and config, to list afterwards. */
  async function freshDir(name: string): Promise<{ dir: string; env: Record<string, string> }> {
    const dir = join(world.dir, name);
    await mkdir(dir);
    return { dir, env: { TOKENWARDEN_STATE_DIR: join(dir, 'state') } };
  }

  /** A loopback URL where nothing listens. */
  async function closedPortUrl(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return `http://127.0.0.1:${port}/`;
  }

  it('a bad --issuer, --scope or --flow is refused before any file is created', async () => {
    const { dir, env } = await freshDir('bad-input');
    const config = join(dir, 'config.ini');
    const bad = [
      { args: ['--issuer', 'ftp://x'], message: /^tokenwarden: --issuer ftp:\/\/x\/? must use https/m },
      { args: ['--issuer', 'not a url'], message: /^tokenwarden: --issuer "not a url" is not a URL/m },
      {
        args: ['--issuer', world.issuer.url, '--scope', 'openid "quoted"'],
        message: /^tokenwarden: --scope: "\\"quoted\\"" is not a scope/m,
      },
      {
        args: ['--issuer', world.issuer.url, '--scope', ' '],
        message: /^tokenwarden: --scope: give at least one/m,
      },
      {
        args: ['--issuer', world.issuer.url, '--flow', 'magic'],
        message: /^tokenwarden: --flow "magic": use device/m,
      },
      { args: ['--issuer', world.issuer.url, '--timeout', '0'], message: /^tokenwarden: --timeout "0"/m },
      {
        args: ['--issuer', world.issuer.url, '--client-id', 'c'],
        message: /^tokenwarden: --client-id needs --manual/m,
      },
      {
        args: ['--issuer', world.issuer.url, '--client-credentials', '--password-file', join(dir, 'p')],
        message: /^tokenwarden: --password-file does not go with --client-credentials/m,
      },
    ];
    const before = world.issuer.stats();
    for (const { args, message } of bad) {
      const run = await runCli(['setup', 'vo2', '--config', config, ...args], { env });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /created password file|\n\s+at /);
    }
    assert.deepEqual(await readdir(dir, { recursive: true }), [], 'no state directory, no password file');
    assert.deepEqual(world.issuer.stats(), before, 'no request reached the issuer');
  });

  it('a bad issuer in the config is refused naming the file and section, before any file is created', async () => {
    const { dir, env } = await freshDir('bad-config-issuer');
    const config = join(dir, 'config.ini');
    await writeFile(
      config,
      '[account vo2]\npassword_file = /nonexistent/vo2.pw\nissuer = http://iam.example.org/\n',
    );
    const run = await runCli(['setup', 'vo2', '--config', config], { env });
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /^tokenwarden: .*config\.ini line 3: Config for \[account vo2\]: issuer = "http:\/\/iam\.example\.org\/" must use https/m,
    );
    assert.deepEqual(await readdir(dir, { recursive: true }), ['config.ini']);
  });

  it('an issuer that cannot be reached leaves no file behind, and never removes an existing password file', async () => {
    const issuer = await closedPortUrl();
    const fresh = await freshDir('unreachable');
    const run = await runCli(['setup', 'vo2', '--config', join(fresh.dir, 'none.ini'), '--issuer', issuer], {
      env: fresh.env,
    });
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, new RegExp(`^tokenwarden: client registration at ${issuer}: `, 'm'));
    assert.deepEqual(await readdir(fresh.dir, { recursive: true }), []);

    const kept = await freshDir('unreachable-existing-pw');
    const pw = join(kept.dir, 'vo2.pw');
    await writeFile(pw, 'an-existing-password\n', { mode: 0o600 });
    const again = await runCli(
      ['setup', 'vo2', '--config', join(kept.dir, 'none.ini'), '--issuer', issuer, '--password-file', pw],
      { env: kept.env },
    );
    assert.equal(again.code, 5, again.stderr);
    assert.deepEqual(await readdir(kept.dir, { recursive: true }), ['vo2.pw']);
    assert.equal(await readFile(pw, 'utf8'), 'an-existing-password\n');
  });

  it('a failure after the login removes the password file it created', async () => {
    const { dir } = await freshDir('late-failure');
    // The credential cannot be stored: its directory would be inside a regular file.
    await writeFile(join(dir, 'blocker'), '');
    const pw = join(dir, 'late.pw');
    await world.writeConfig(
      `[account late]\npassword_file = ${pw}\ncredential_file = ${join(dir, 'blocker', 'late.cred')}\nissuer = ${world.issuer.url}\n`,
    );
    const run = await world.setup('late');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^tokenwarden: cannot create the credential directory .*blocker/m);
    // The credential's directory (which holds its lock) is made before the password file is: nothing
    // of this run is left, and no password file was ever written.
    assert.deepEqual(await readdir(dir, { recursive: true }), ['blocker']);
  });

  it('an account whose grant was revoked is reported as needing a login', async () => {
    await world.writeConfig(`${refreshAccount(world, 'rev')}${tokenSection(world, 'rv', 'rev')}`);
    assert.equal((await world.setup('rev')).code, 0);
    await world.issuer.revokeAllGrants();
    const run = await runCli(['renew', '--config', world.config]);
    // Every failure is a credential needing attention, so renew exits 4 (README, exit statuses).
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /\[token rv\] \(account rev\): .*invalid_grant.*run: tokenwarden setup rev/);
    const status = await runCli(['status', '--config', world.config, '--json']);
    assert.match(status.stdout, /"state": "needs-login"/);
    // Headless runs do not hammer the issuer again with a dead refresh token.
    const before = world.issuer.stats().tokenErrors.invalid_grant ?? 0;
    assert.equal((await runCli(['renew', '--config', world.config])).code, 4);
    assert.equal(world.issuer.stats().tokenErrors.invalid_grant ?? 0, before);
    // A new login clears it.
    assert.equal((await world.setup('rev')).code, 0);
    assert.equal((await runCli(['renew', '--config', world.config])).code, 0);
  });
  it('refuses to set up an account that is set up already, unless --force, before any prompt or request', async () => {
    await world.writeConfig(refreshAccount(world, 'dup'));
    assert.equal((await world.setup('dup')).code, 0);
    const cred = join(world.state, 'accounts', 'dup.cred');
    const sealed = await readFile(cred, 'utf8');
    const stats = world.issuer.stats();
    const again = await world.setup('dup');
    assert.equal(again.code, 2, again.stderr);
    assert.equal(
      again.stderr,
      `tokenwarden: setup dup: account dup is set up already (${cred}); a new setup would replace its stored refresh token, which cannot be had back\n` +
        '  to log in again and replace it anyway, add --force; or give another ACCOUNT name\n',
    );
    // Refused before the prompt: --manual would otherwise ask for the client secret on standard input.
    const manual = await runCli(
      ['setup', 'dup', '--config', world.config, '--manual', '--client-id', 'manual-client'],
      { input: '' },
    );
    assert.equal(manual.code, 2, manual.stderr);
    assert.match(manual.stderr, /is set up already/);
    assert.deepEqual(world.issuer.stats(), stats, 'no request reached the issuer');
    assert.equal(await readFile(cred, 'utf8'), sealed);
    const forced = await world.setup('dup', undefined, ['--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await readFile(cred, 'utf8'), sealed);
  });
});
