import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { writeDaemonInfo } from '../../src/renewal/daemon-info.js';
import type { StatusSnapshot } from '../../src/web/status-model.js';
import { runCli } from '../helpers/cli.js';
import { type DaemonStub, deadPid, serveJson, startDaemonStub, unsignedJwt } from '../helpers/daemon-stub.js';
import { tempDir } from '../helpers/tmp.js';

interface StatusJson {
  config: string;
  source: 'daemon' | 'files';
  daemon?: { pid: number; url: string };
  warnings?: string[];
  tokens: Array<Record<string, unknown>>;
  problems: string[];
}

describe('status and a running daemon', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let state: string;
  let stub: DaemonStub | undefined;
  const now = Math.floor(Date.now() / 1000);

  const snapshot = (): StatusSnapshot => ({
    service: 'daemon',
    generatedAt: now,
    startedAt: now - 600,
    configFile: config,
    rows: [
      {
        id: 'first',
        group: 'vo',
        path: join(dir, 'tokens', 'first.token'),
        state: 'ok',
        issuedAt: now - 100,
        expiresAt: now + 3500,
        lastRenewal: now - 100,
        nextRenewalAt: now + 2000,
      },
      {
        id: 'second',
        group: 'vo',
        path: join(dir, 'tokens', 'second.token'),
        state: 'needs-login',
        expiresAt: now + 300,
        lastError: { code: 'NEEDS_LOGIN', message: 'the issuer refused the refresh token of [account vo]' },
      },
    ],
    groups: [{ name: 'vo', kind: 'refresh' }],
    warnings: [
      {
        kind: 'needs-login',
        group: 'vo',
        id: 'second',
        message: 'account vo needs a new login',
        since: now - 50,
      },
    ],
  });

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    state = join(dir, 'state');
    await mkdir(state);
    await mkdir(join(dir, 'tokens'));
    config = join(dir, 'config.ini');
    await writeFile(
      config,
      `[DEFAULT]\nstate_dir = ${state}\n\n[account vo]\npassword_file = ${dir}/vo.pw\n\n` +
        `[token first]\naccount = vo\ntoken_path = ${dir}/tokens/first.token\n\n` +
        `[token second]\naccount = vo\ntoken_path = ${dir}/tokens/second.token\n`,
    );
    for (const name of ['first', 'second']) {
      const jwt = unsignedJwt({ iss: 'https://issuer.example', sub: 's', iat: now, exp: now + 7200 });
      await writeFile(join(dir, 'tokens', `${name}.token`), `${jwt}\n`);
    }
  });

  afterEach(async () => {
    await stub?.close();
    stub = undefined;
    await rm(join(state, 'daemon.json'), { force: true });
  });

  after(async () => {
    await cleanup();
  });

  const status = async (extra: string[] = ['--json']) => {
    const run = await runCli(['status', '--config', config, ...extra]);
    return { ...run, json: extra.includes('--json') ? (JSON.parse(run.stdout) as StatusJson) : undefined };
  };

  it('asks the daemon running this config, says so, and shows its rows in the usual shape', async () => {
    const files = await status();
    assert.equal(files.json?.source, 'files');
    stub = await startDaemonStub(serveJson(snapshot()));
    // The daemon names the config through another path to the same file: it is the same config.
    const alias = join(dir, 'alias.ini');
    await symlink(config, alias);
    await writeDaemonInfo(state, { pid: process.pid, url: stub.url, config: alias, startedAt: now - 600 });

    const run = await status();
    assert.equal(run.code, 1, 'a token needs a login');
    assert.equal(run.stderr, `status: from the running daemon (pid ${process.pid}, ${stub.url})\n`);
    assert.deepEqual(stub.requests, ['GET /api/status']);
    const json = run.json as StatusJson;
    assert.equal(json.source, 'daemon');
    assert.deepEqual(json.daemon, { pid: process.pid, url: stub.url });
    assert.deepEqual(json.warnings, ['account vo needs a new login']);
    // Every field status prints from the files is there, with the daemon's values.
    assert.deepEqual(
      json.tokens.map((t) => Object.keys(t).sort()),
      (files.json as StatusJson).tokens.map((t) => [...Object.keys(t), 'next_renewal'].sort()),
    );
    const [first, second] = json.tokens;
    assert.equal(first?.token, 'first');
    assert.equal(first?.account, 'vo');
    assert.equal(first?.state, 'ok');
    assert.equal(first?.path, join(dir, 'tokens', 'first.token'));
    assert.ok(Math.abs((first?.expires_in as number) - 3500) <= 60, String(first?.expires_in));
    assert.equal(first?.last_renewal, new Date((now - 100) * 1000).toISOString());
    assert.equal(first?.next_renewal, new Date((now + 2000) * 1000).toISOString());
    assert.equal(first?.last_error, null);
    assert.equal(second?.state, 'needs-login');
    assert.equal(second?.last_error, 'the issuer refused the refresh token of [account vo]');
    assert.equal(second?.warning, 'account vo needs a new login');

    const text = await status([]);
    assert.match(text.stdout, /^TOKEN\s+ACCOUNT\s+STATE\s+EXPIRES IN\s+NEXT RENEWAL\s+LAST RENEWAL/);
    assert.match(text.stdout, /\nfirst\s+vo\s+ok\s+.*\s+in 3[23]m \d\ds\s/);
    assert.match(text.stdout, /\nsecond\s+vo\s+needs-login\s/);
    assert.match(text.stdout, /\nwarning: account vo needs a new login/);
  });

  it('never hides a section the daemon does not run, nor a reload it refused', async () => {
    // The daemon knows only "first": "second" was added since, and the reload that would add it was
    // refused (a regression: status through the daemon said all was well and exited 0).
    const snap = snapshot();
    snap.rows = snap.rows.filter((r) => r.id === 'first');
    snap.warnings = [];
    snap.configError = { code: 'CONFIG_INVALID', message: 'config.ini line 9: Config for [token x]: bad' };
    stub = await startDaemonStub(serveJson(snap));
    await writeDaemonInfo(state, { pid: process.pid, url: stub.url, config, startedAt: now - 600 });
    const run = await status();
    assert.equal(run.json?.source, 'daemon');
    assert.deepEqual(run.json?.tokens.map((t) => t.token).sort(), ['first', 'second']);
    assert.equal(run.code, 1, 'a refused reload is a problem');
    assert.match(
      JSON.stringify(run.json),
      /the daemon refused the last reload of .*config\.ini line 9: Config for \[token x\]: bad/,
    );
  });

  it('reads the files when the daemon that answers runs another config', async () => {
    const snap = snapshot();
    snap.configFile = join(dir, 'other.ini');
    await writeFile(snap.configFile, '');
    stub = await startDaemonStub(serveJson(snap));
    await writeDaemonInfo(state, { pid: process.pid, url: stub.url, config, startedAt: now - 600 });
    const run = await status();
    assert.equal(run.json?.source, 'files');
    assert.match(run.stderr, /runs another config; reading the files/);
  });

  it('reads the files, silently, when the daemon.json left behind names a process that is gone', async () => {
    const files = await status();
    stub = await startDaemonStub(serveJson(snapshot()));
    await writeDaemonInfo(state, { pid: await deadPid(), url: stub.url, config, startedAt: now - 600 });
    const run = await status();
    assert.equal(run.json?.source, 'files');
    assert.equal(run.stderr, '', 'nothing to say about a daemon that is gone');
    assert.deepEqual(stub.requests, [], 'no request to whatever listens there now');
    const shape = (j: StatusJson | undefined) => j?.tokens.map((t) => [t.token, t.state, t.last_error]);
    assert.deepEqual(shape(run.json), shape(files.json));
    assert.equal(run.code, files.code);
  });

  it('reads the files when the daemon runs another config', async () => {
    stub = await startDaemonStub(serveJson(snapshot()));
    const other = join(dir, 'other.ini');
    await writeFile(other, '');
    await writeDaemonInfo(state, { pid: process.pid, url: stub.url, config: other, startedAt: now });
    const run = await status();
    assert.equal(run.json?.source, 'files');
    assert.deepEqual(stub.requests, []);
  });

  it('says so and reads the files when the daemon does not answer, or answers badly', async () => {
    stub = await startDaemonStub((_req, res) => res.writeHead(500).end());
    await writeDaemonInfo(state, { pid: process.pid, url: stub.url, config, startedAt: now });
    const failing = await status();
    assert.equal(failing.json?.source, 'files');
    assert.match(
      failing.stderr,
      new RegExp(
        `status: the running daemon \\(pid ${process.pid}\\) did not answer: .*HTTP 500; reading the files\\n`,
      ),
    );
    await stub.close();
    stub = undefined;
    const gone = await status();
    assert.equal(gone.json?.source, 'files');
    assert.match(gone.stderr, /did not answer: cannot reach the daemon at .*; reading the files/);
    await writeFile(join(state, 'daemon.json'), '{"pid": "nope"}');
    const garbage = await status();
    assert.equal(garbage.json?.source, 'files');
    assert.match(
      garbage.stderr,
      /status: ignoring .*daemon\.json: .* is not a daemon\.json: pid: not a process id; reading the files/,
    );
  });
});
