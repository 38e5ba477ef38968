import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { systemdVerify } from '../helpers/systemd.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

describe('inspect, discover, units, --help, --version', () => {
  let world: World;
  let tokenFile: string;
  let token: string;

  before(async () => {
    world = await createWorld();
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'ce', 'vo', { audience: 'https://ce.example', scope: 'compute.read', owner: 'root', group: '0' })}`,
    );
    assert.equal((await world.setup('vo')).code, 0);
    assert.equal((await runCli(['renew', '--config', world.config])).code, 0);
    tokenFile = join(world.tokens, 'ce.token');
    token = (await readFile(tokenFile, 'utf8')).trim();
  });

  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, []);
  });

  it('inspect shows issuer, audience, scope and time left, from a file, stdin or discovery', async () => {
    const a = await runCli(['inspect', tokenFile]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`issuer:\\s+${world.issuer.url}`));
    assert.match(a.stdout, /audience:\s+https:\/\/ce\.example/);
    assert.match(a.stdout, /scope:\s+compute\.read/);
    assert.match(a.stdout, /expires:.*\(in (59m|1h 00m)/);
    assert.match(a.stdout, /"wlcg\.ver": "1\.0"/);
    const b = await runCli(['inspect', '-', '--json'], { input: `${token}\n` });
    const j = JSON.parse(b.stdout) as { audience: string[]; issuer: string; expired: boolean };
    assert.deepEqual(j.audience, ['https://ce.example']);
    assert.equal(j.expired, false);
    const c = await runCli(['inspect'], { env: { BEARER_TOKEN_FILE: tokenFile } });
    assert.equal(c.code, 0);
    assert.match(c.stdout, new RegExp(`source:\\s+${tokenFile}`));
  });

  it('inspect refuses what is not a token', async () => {
    const bad = join(world.dir, 'bad.token');
    await writeFile(bad, 'hello\n');
    const run = await runCli(['inspect', bad]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /not a JWT/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('discover follows the WLCG order', async () => {
    const run = await runCli(['discover', '--json'], {
      env: { BEARER_TOKEN: undefined, BEARER_TOKEN_FILE: undefined, XDG_RUNTIME_DIR: world.tokens },
    });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /"found": false/);
    await writeFile(join(world.tokens, `bt_u${process.getuid?.()}`), `${token}\n`);
    const found = await runCli(['discover'], {
      env: { BEARER_TOKEN: undefined, BEARER_TOKEN_FILE: undefined, XDG_RUNTIME_DIR: world.tokens },
    });
    assert.equal(found.code, 0);
    assert.match(found.stdout, /bt_u\d+ \(from XDG_RUNTIME_DIR\), expires in/);
  });

  it('units prints a hardened service, a timer and a cron line', async () => {
    const run = await runCli(['units', '--config', world.config, '--user', 'nobody']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Type=oneshot/);
    assert.match(run.stdout, /User=nobody\n/);
    assert.doesNotMatch(run.stdout, /Group=/, 'Group= only with --as');
    assert.match(run.stdout, /TimeoutStartSec=/);
    assert.match(run.stdout, /ProtectSystem=strict/);
    assert.match(run.stdout, new RegExp(`ReadWritePaths=.*${world.tokens}`));
    assert.match(run.stdout, /CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER/);
    assert.match(run.stdout, /OnUnitActiveSec=10min\nRandomizedDelaySec=3min/);
    assert.match(run.stdout, /\*\/10 \* \* \* \* nobody .* renew --config /);
    const dir = join(world.dir, 'units');
    const install = await runCli(['units', '--config', world.config, '--install', '--dir', dir]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(await readFile(join(dir, 'tokenwarden-renew.timer'), 'utf8'), /WantedBy=timers.target/);
    // A directory systemd never reads units from: said, not silently accepted.
    assert.match(
      install.stderr,
      new RegExp(
        `warning: systemd does not read units from ${dir} \\(its unit search path is /etc/systemd/system, `,
      ),
    );
    // systemd's own parser accepts them (it exits non-zero on unknown keys or bad values).
    const verify = await systemdVerify(dir, ['tokenwarden-renew.service', 'tokenwarden-renew.timer']);
    assert.equal(verify.code, 0, verify.output);
  });

  it('units lets renew write every credential_file directory, and systemd makes the default state dir', async () => {
    const cfg = join(world.dir, 'units.ini');
    await writeFile(
      cfg,
      `[account a]\npassword_file = ${world.dir}/a.pw\ncredential_file = ${world.dir}/creds/a.cred\n\n[token t]\naccount = a\ntoken_path = ${world.tokens}/a.token\n`,
    );
    const run = await runCli(['units', '--config', cfg], { env: { TOKENWARDEN_STATE_DIR: undefined } });
    assert.equal(run.code, 0, run.stderr);
    const rw = /ReadWritePaths=(.*)/.exec(run.stdout)?.[1]?.split(' ') ?? [];
    assert.ok(rw.includes(join(world.dir, 'creds')), `credential dir in ${rw.join(' ')}`);
    assert.ok(rw.includes(world.tokens), `token dir in ${rw.join(' ')}`);
    assert.match(run.stdout, /StateDirectory=tokenwarden\nStateDirectoryMode=0700/);
  });

  it('units --agent gives a systemd user unit for the agent that systemd accepts', async () => {
    const shown = await runCli(['units', '--agent']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /ExecStart=.* agent --foreground --socket %t\/tokenwarden\/agent.sock/);
    assert.match(shown.stdout, /WantedBy=default.target/);
    assert.match(shown.stdout, /systemctl --user enable --now tokenwarden-agent.service/);
    const home = join(world.dir, 'home');
    const install = await runCli(['units', '--agent', '--install'], {
      env: { HOME: home, XDG_CONFIG_HOME: undefined },
    });
    assert.equal(install.code, 0, install.stderr);
    const dir = join(home, '.config', 'systemd', 'user');
    assert.match(await readFile(join(dir, 'tokenwarden-agent.service'), 'utf8'), /Restart=on-failure/);
    const verify = await systemdVerify(dir, ['tokenwarden-agent.service'], true);
    assert.equal(verify.code, 0, verify.output);
    // Node 20's recursive mkdir spins forever under /proc; this must end with a clear error.
    const bad = await runCli(['units', '--agent', '--install', '--dir', '/proc/nope/x'], {
      timeoutMs: 15_000,
    });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--dir \/proc\/nope\/x: \/proc\/nope does not exist/);
    // The default directory is in the user manager's search path: no warning.
    assert.doesNotMatch(install.stderr, /warning/);
  });

  it('units --install --dir creates only the last directory, never a typo of its parents', async () => {
    const parent = join(world.dir, 'no-such-parent');
    const deep = join(parent, 'units');
    const refused = await runCli(['units', '--config', world.config, '--install', '--dir', deep]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`--dir ${deep}: ${parent} does not exist`));
    assert.match(refused.stderr, /units creates only the last directory of --dir/);
    assert.equal(existsSync(parent), false, 'no parent created');
    const last = join(world.dir, 'last');
    const made = await runCli(['units', '--config', world.config, '--install', '--dir', last]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(existsSync(join(last, 'tokenwarden-renew.service')), true);
    const agent = await runCli(['units', '--agent', '--install', '--dir', join(world.dir, 'agent-units')]);
    assert.equal(agent.code, 0, agent.stderr);
    assert.match(
      agent.stderr,
      /warning: systemd does not read units from .*agent-units \(its unit search path is .*\/systemd\/user/,
    );
  });

  it('units --user of a user this host does not have is refused (systemd could not start it)', async () => {
    const run = await runCli(['units', '--config', world.config, '--user', 'tw-no-such-user-x']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--user tw-no-such-user-x: no such user/);
  });

  it('test-issuer takes client secrets from a file, and names a bad line without printing it', async () => {
    const file = join(world.dir, 'clients');
    await writeFile(file, '# robots\ngood:s3cr3t-value-one\nnocolon-s3cr3t-value-two\n', { mode: 0o600 });
    const run = await runCli(['test-issuer', '--clients-file', file], { timeoutMs: 15_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`--clients-file ${file} line 3: expected ID:SECRET, found no colon`));
    assert.doesNotMatch(run.stderr + run.stdout, /s3cr3t-value/);
    const old = await runCli(['test-issuer', '--client', 'id:secret-in-argv'], { timeoutMs: 15_000 });
    assert.equal(old.code, 2, 'no secret on the command line');
  });

  it('test-issuer --refresh-ttl answers refresh_expires_in with its refresh tokens, as Keycloak does', async () => {
    const file = join(world.dir, 'clients-rt');
    await writeFile(file, 'robot:robot-secret-rt\n', { mode: 0o600 });
    const child = spawn(
      process.execPath,
      [CLI, 'test-issuer', '--clients-file', file, '--auto-approve', 'alice', '--refresh-ttl', '7200'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d;
          const m = /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`test-issuer exited with ${code}`)));
      });
      const meta = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as Record<
        string,
        string
      >;
      const auth = { authorization: `Basic ${Buffer.from('robot:robot-secret-rt').toString('base64')}` };
      const device = (await (
        await fetch(meta.device_authorization_endpoint as string, {
          method: 'POST',
          headers: auth,
          body: new URLSearchParams({ scope: 'openid offline_access' }),
        })
      ).json()) as { device_code: string };
      const answer = await fetch(meta.token_endpoint as string, {
        method: 'POST',
        headers: auth,
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: device.device_code,
        }),
      });
      const tokens = (await answer.json()) as { refresh_token?: string; refresh_expires_in?: number };
      assert.equal(answer.status, 200, JSON.stringify(Object.keys(tokens)));
      assert.ok(typeof tokens.refresh_token === 'string', 'a refresh token is issued');
      assert.ok(
        typeof tokens.refresh_expires_in === 'number' &&
          tokens.refresh_expires_in > 7100 &&
          tokens.refresh_expires_in <= 7200,
        `refresh_expires_in ${tokens.refresh_expires_in}`,
      );
    } finally {
      child.kill('SIGTERM');
    }
    const bad = await runCli(['test-issuer', '--refresh-ttl', '1.5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--refresh-ttl "1\.5": give a whole number from 1 to 31622400/);
  });

  it('every command has --help, and --version works', async () => {
    const commands = [
      'setup',
      'renew',
      'status',
      'inspect',
      'discover',
      'units',
      'demo',
      'test-issuer',
      'migrate',
    ];
    commands.push('agent', 'add', 'remove', 'list', 'token', 'import-oidc-agent');
    for (const cmd of commands) {
      const run = await runCli([cmd, '--help']);
      assert.equal(run.code, 0, cmd);
      assert.match(run.stdout, new RegExp(`^Usage: tokenwarden ${cmd}`));
    }
    const v = await runCli(['--version']);
    assert.match(v.stdout, /^tokenwarden \d+\.\d+\.\d+\n$/);
  });
});
