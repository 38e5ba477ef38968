import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { systemdVerify } from '../helpers/systemd.js';
import { tempDir } from '../helpers/tmp.js';

describe('units --daemon', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'tokens'));
    await mkdir(join(dir, 'state'));
    config = join(dir, 'config.ini');
    await writeFile(
      config,
      [
        `[DEFAULT]\nstate_dir = ${dir}/state\n`,
        `[account a]\npassword_file = ${dir}/a.pw\ncredential_file = ${dir}/creds/a.cred\ntimeout = 120\n`,
        `[account b]\npassword_file = ${dir}/b.pw\n`,
        `[token t]\naccount = a\ntoken_path = ${dir}/tokens/t.token\n`,
        `[token u]\naccount = b\ntoken_path = ${dir}/tokens/u.token\n`,
      ].join('\n'),
    );
  });

  after(async () => {
    await cleanup();
  });

  it('prints a hardened, restartable, reloadable service for `tokenwarden daemon` that systemd accepts', async () => {
    const run = await runCli(['units', '--daemon', '--config', config, '--listen', '127.0.0.1:9464']);
    assert.equal(run.code, 0, run.stderr);
    const unit = run.stdout;
    assert.match(unit, /^# tokenwarden-daemon\.service\n\[Unit\]/);
    assert.match(
      unit,
      new RegExp(`ExecStart=\\S+ \\S+main\\.js daemon --config ${config} --listen 127\\.0\\.0\\.1:9464\\n`),
    );
    assert.match(unit, /\nType=simple\n/);
    assert.match(unit, /\nRestart=on-failure\n/);
    assert.match(unit, /\nExecReload=\/bin\/kill -HUP \$MAINPID\n/);
    // The drain outlasts the slowest account's request (120 s) and the save retries after it.
    const stop = Number(/\nTimeoutStopSec=(\d+)s\n/.exec(unit)?.[1]);
    assert.ok(stop >= 120 + 30, `TimeoutStopSec=${stop}s`);
    // The renew service's sandbox: the token, credential and state directories writable, nothing else.
    for (const line of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'UMask=0077',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallArchitectures=native',
    ]) {
      assert.ok(unit.includes(`\n${line}\n`), line);
    }
    const rw = /ReadWritePaths=(.*)/.exec(unit)?.[1]?.split(' ') ?? [];
    assert.deepEqual(rw.sort(), [join(dir, 'creds'), join(dir, 'state'), join(dir, 'tokens')].sort());
    assert.match(unit, /WantedBy=multi-user\.target/);
    assert.match(
      unit,
      /systemctl disable --now tokenwarden-renew\.timer/,
      'one renewer: the timer is stopped',
    );

    const unitDir = join(dir, 'units');
    const install = await runCli(['units', '--daemon', '--config', config, '--install', '--dir', unitDir]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /wrote tokenwarden-daemon\.service into /);
    assert.match(install.stdout, /systemctl enable --now tokenwarden-daemon\.service/);
    // The credential directory does not exist yet: ReadWritePaths= of it would fail the start.
    assert.match(install.stderr, new RegExp(`warning: ${join(dir, 'creds')} does not exist`));
    const written = await readFile(join(unitDir, 'tokenwarden-daemon.service'), 'utf8');
    assert.match(
      written,
      new RegExp(`ExecStart=\\S+ \\S+main\\.js daemon --config ${config}\\n`),
      'no --listen',
    );
    const verify = await systemdVerify(unitDir, ['tokenwarden-daemon.service']);
    assert.equal(verify.code, 0, verify.output);
  });

  it('--as osg-token-renewer names the timer to stop', async () => {
    const run = await runCli([
      'units',
      '--daemon',
      '--as',
      'osg-token-renewer',
      '--user',
      'root',
      '--config',
      config,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\nUser=root\nGroup=root\n/);
    assert.match(run.stdout, /systemctl disable --now osg-token-renewer\.timer/);
  });

  it('refuses a --listen that is not HOST:PORT, --listen without --daemon, and --daemon with --agent', async () => {
    for (const bad of ['127.0.0.1', '127.0.0.1:80 --x', 'host:port', '$HOST:80']) {
      const run = await runCli(['units', '--daemon', '--config', config, '--listen', bad]);
      assert.equal(run.code, 2, bad);
      assert.match(run.stderr, /--listen .*: expected HOST:PORT/);
    }
    const v6 = await runCli(['units', '--daemon', '--config', config, '--listen', '[::1]:9464']);
    assert.equal(v6.code, 0, v6.stderr);
    const alone = await runCli(['units', '--config', config, '--listen', '127.0.0.1:9464']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--listen goes with --daemon/);
    const both = await runCli(['units', '--daemon', '--agent']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--daemon and --agent: give one of them/);
  });
});
