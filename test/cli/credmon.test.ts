import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { decodeToken } from '../../src/tokens/index.js';
import {
  addCredmonClient,
  CLIENT_SECRET,
  leaksIn,
  loginRefreshToken,
  writeSecretFile,
} from '../credmon/oauth-world.js';
import { CLI, findLeaks, runCli, transcript } from '../helpers/cli.js';
import {
  type CredDir,
  condorConfigFixture,
  credPath,
  makeCredDir,
  readCredmonPid,
  readSecureFile,
  signalCredmon,
  storeCred,
  storeLocalCred,
  waitForCredmonComplete,
  waitForFile,
} from '../helpers/credd.js';
import { tempDir } from '../helpers/tmp.js';

interface Running {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCredmon(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [CLI, 'credmon', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => transcript.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      transcript.push(err);
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => err, exited };
}

describe('tokenwarden credmon, as condor_master starts it', () => {
  let issuer: TestIssuer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let cd: CredDir;
  let running: Running | undefined;

  beforeEach(async () => {
    issuer = await startTestIssuer({ accessTokenTtl: 3600 });
    await addCredmonClient(issuer);
    ({ dir, cleanup } = await tempDir());
    cd = await makeCredDir(dir);
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    await issuer.close();
    await cleanup();
  });

  async function condorConfig(extra: Record<string, string> = {}): Promise<string> {
    return condorConfigFixture(dir, {
      SEC_CREDENTIAL_DIRECTORY_OAUTH: cd.path,
      CREDMON_OAUTH_LOG: join(dir, 'CredMonOAuthLog'),
      MYISSUER_CLIENT_ID: 'credmon',
      MYISSUER_CLIENT_SECRET_FILE: await writeSecretFile(dir),
      MYISSUER_TOKEN_URL: `${issuer.url}/token`,
      ...extra,
    });
  }

  it('renews at start, touches CREDMON_COMPLETE, writes pid, answers SIGHUP after the CredD stores a .top, exits 0 on SIGTERM', async () => {
    const alice = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: alice, scopes: 'storage.read:/,compute.read' });
    // And a local-issuer credential, as the CredD's LOCAL_STORE_CRED leaves it.
    await storeLocalCred(cd, 'alice', 'scitokens');
    const since = Date.now() - 1000;
    const local = {
      LOCAL_CREDMON_PROVIDER_NAMES: 'scitokens',
      LOCAL_CREDMON_PRIVATE_KEY: join(dir, 'scitokens-private.pem'),
      LOCAL_CREDMON_PUBLIC_KEY: join(dir, 'scitokens.pem'),
      LOCAL_CREDMON_ISSUER: 'https://ap.example.org',
      LOCAL_CREDMON_TOKEN_AUDIENCE: 'https://storage.example.org',
    };
    running = startCredmon([], { CONDOR_CONFIG: await condorConfig(local) });
    await waitForCredmonComplete(cd, since, 30_000);
    assert.equal(await readCredmonPid(cd), running.child.pid);
    assert.equal(await readFile(join(cd.path, 'pid'), 'utf8'), String(running.child.pid), 'no newline');
    const use = JSON.parse((await readSecureFile(credPath(cd, 'alice', 'myissuer', 'use'))).toString());
    assert.equal(decodeToken(use.access_token).claims.sub, 'alice');
    const minted = JSON.parse((await readSecureFile(credPath(cd, 'alice', 'scitokens', 'use'))).toString());
    const claims = decodeToken(minted.access_token).claims;
    assert.equal(claims.iss, 'https://ap.example.org');
    assert.deepEqual(claims.aud, ['https://storage.example.org']);
    assert.equal(claims.sub, 'alice');

    // The CredD stores bob's first login and wakes the credmon, then polls for the .use.
    const bob = await loginRefreshToken(issuer, 'bob');
    await storeCred(cd, 'bob', 'myissuer', { refresh_token: bob, scopes: 'compute.read' });
    const stored = Date.now();
    await signalCredmon(cd, 'SIGHUP');
    await waitForFile(credPath(cd, 'bob', 'myissuer', 'use'), 0, 20_000);
    await readSecureFile(credPath(cd, 'bob', 'myissuer', 'use'));
    // The pass the SIGHUP started ends with CREDMON_COMPLETE touched again.
    await waitForCredmonComplete(cd, stored - 1000, 20_000);

    running.child.kill('SIGTERM');
    const { code } = await running.exited;
    assert.equal(code, 0);
    const log = await readFile(join(dir, 'CredMonOAuthLog'), 'utf8');
    assert.match(log, /credmon\.started cred_dir=/);
    assert.match(log, /credmon\.renewed user=alice cred=myissuer provider=(myissuer|MYISSUER)/);
    assert.match(log, /credmon\.renewed user=bob cred=myissuer/);
    assert.match(log, /credmon\.stopped reason=SIGTERM/);
    const secrets = [...issuer.issuedSecrets(), CLIENT_SECRET];
    assert.deepEqual(leaksIn(log, secrets), []);
    assert.deepEqual(findLeaks(secrets), []);
  });

  it('exits 99 (do not restart) on a bad provider name and on a directory open to others, 44 on an unwritable log', async () => {
    const bad = await runCli(['credmon'], {
      env: { CONDOR_CONFIG: await condorConfig({ LOCAL_CREDMON_PROVIDER_NAMES: 'scitokens bad%name' }) },
    });
    assert.equal(bad.code, 99, bad.stderr);
    assert.match(bad.stderr, /LOCAL_CREDMON_PROVIDER_NAMES/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');

    const { dir: d2, cleanup: c2 } = await tempDir();
    try {
      const open = await makeCredDir(d2, { mode: 0o2775 });
      const other = await runCli(['credmon', '--cred-dir', open.path], {
        env: { CONDOR_CONFIG: await condorConfig() },
      });
      assert.equal(other.code, 99, other.stderr);
      assert.match(other.stderr, /readable, writable or searchable by others \(mode 2775\)/);
    } finally {
      await c2();
    }

    const log = await runCli(['credmon', '--log-file', join(dir, 'no-such-dir', 'log')], {
      env: { CONDOR_CONFIG: await condorConfig() },
    });
    assert.equal(log.code, 44, log.stderr);
    assert.match(log.stderr, /could not open the log file \S+no-such-dir\/log \(ENOENT\)/);
  });

  it('--listen serves the status page, /api/status, /metrics and /readyz; a busy port does not stop the renewals', async () => {
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: await loginRefreshToken(issuer, 'alice') });
    running = startCredmon(['--listen', '127.0.0.1:0', '--verbose'], { CONDOR_CONFIG: await condorConfig() });
    for (let i = 0; i < 1500 && !/daemon\.serving url=/.test(running.stderr()); i++) await sleep(20);
    const url = (/daemon\.serving url=(\S+)/.exec(running.stderr()) as RegExpExecArray)[1] as string;
    await waitForFile(credPath(cd, 'alice', 'myissuer', 'use'), 0, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${running?.stderr()}`);
    });
    await waitForCredmonComplete(cd, 0, 20_000);
    let ready = await fetch(new URL('/readyz', url));
    for (let i = 0; i < 100 && ready.status !== 200; i++) {
      await sleep(20);
      ready = await fetch(new URL('/readyz', url));
    }
    assert.equal(ready.status, 200);
    const status = (await (await fetch(new URL('/api/status', url))).json()) as {
      service: string;
      rows: Array<{ id: string; state: string }>;
    };
    assert.equal(status.service, 'credmon');
    assert.deepEqual(
      status.rows.map((r) => [r.id, r.state]),
      [['alice/myissuer', 'ok']],
    );
    const metrics = await (await fetch(new URL('/metrics', url))).text();
    assert.match(metrics, /tokenwarden_credmon_credentials\{provider="MYISSUER",state="ok"\} 1/);
    assert.match(metrics, /tokenwarden_renewals_total\{[^}]*group="MYISSUER"[^}]*\} 1/);
    const page = await (await fetch(new URL('/', url))).text();
    assert.match(page, /alice\/myissuer/);

    // A second credmon on the same port (in another directory) still renews.
    const { dir: d2, cleanup: c2 } = await tempDir();
    try {
      const other = await makeCredDir(d2);
      await storeCred(other, 'bob', 'myissuer', { refresh_token: await loginRefreshToken(issuer, 'bob') });
      const port = new URL(url).port;
      const second = startCredmon(['--listen', `127.0.0.1:${port}`, '--cred-dir', other.path, '--verbose'], {
        CONDOR_CONFIG: await condorConfig(),
      });
      await waitForFile(credPath(other, 'bob', 'myissuer', 'use'), 0, 20_000);
      second.child.kill('SIGQUIT');
      assert.equal((await second.exited).code, 0);
      assert.match(second.stderr(), /cannot listen \(EADDRINUSE\); running without HTTP/);
    } finally {
      await c2();
    }
    running.child.kill('SIGINT');
    assert.equal((await running.exited).code, 0);
  });
});
