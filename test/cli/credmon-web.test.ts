import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { decodeToken } from '../../src/tokens/index.js';
import { freePort } from '../credmon/web/fixture.js';
import { CLI, findLeaks, runCli, transcript } from '../helpers/cli.js';
import {
  type CredDir,
  condorConfigFixture,
  credDKeyAd,
  credPath,
  makeCredDir,
  readSecureFile,
  waitForCredmonComplete,
  writeKeyFile,
} from '../helpers/credd.js';
import { tempDir } from '../helpers/tmp.js';

const CLIENT_ID = 'htcondor-ap';
const CLIENT_SECRET = 'ap-secret-3f9c1e7d5b2a8c4e6f0a1b2c';

interface Running {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
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
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      transcript.push(err);
      resolve(code);
    });
  });
  return { child, stderr: () => err, exited };
}

async function waitFor(what: RegExp, running: Running): Promise<RegExpExecArray> {
  for (let i = 0; i < 1500; i++) {
    const m = what.exec(running.stderr());
    if (m) return m;
    if (running.child.exitCode !== null) break;
    await sleep(20);
  }
  throw new Error(`credmon never logged ${what}:\n${running.stderr()}`);
}

/** A user's whole login through the app, as a browser does it (the test issuer approves by itself). */
async function login(base: string, key: string): Promise<void> {
  let cookie = '';
  const get = async (url: string) => {
    const response = await fetch(new URL(url, base), {
      redirect: 'manual',
      headers: cookie === '' ? {} : { cookie },
    });
    const set = response.headers.getSetCookie()[0];
    if (set !== undefined) cookie = set.split(';')[0] as string;
    return response;
  };
  const page = await get(`/key/${key}`);
  assert.equal(page.status, 200, await page.text());
  const start = await get('/login/wlcg');
  assert.equal(start.status, 302);
  const approved = await fetch(start.headers.get('location') as string, { redirect: 'manual' });
  const back = new URL(approved.headers.get('location') as string);
  assert.equal(back.origin, base);
  const done = await get(back.pathname + back.search);
  assert.equal(done.status, 303, await done.text());
}

describe('tokenwarden credmon with its login web app', { timeout: 120_000 }, () => {
  let issuer: TestIssuer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let cd: CredDir;
  let ports: [number, number];
  const running: Running[] = [];

  beforeEach(async () => {
    ports = [await freePort(), await freePort()];
    issuer = await startTestIssuer({
      autoApproveInteractions: 'alice',
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: ports.map((p) => `http://127.0.0.1:${p}/return/wlcg`),
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_post',
          scope: 'openid offline_access storage.read:/',
        },
      ],
    });
    ({ dir, cleanup } = await tempDir());
    cd = await makeCredDir(dir);
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
    await issuer.close();
    await cleanup();
  });

  async function config(port: number): Promise<string> {
    const secretFile = join(dir, 'wlcg.secret');
    await writeFile(secretFile, CLIENT_SECRET, { mode: 0o600 });
    return condorConfigFixture(dir, {
      SEC_CREDENTIAL_DIRECTORY_OAUTH: cd.path,
      CREDMON_OAUTH_LOG: join(dir, 'CredMonOAuthLog'),
      CREDMON_WEB_PREFIX: `http://127.0.0.1:${port}`,
      WLCG_CLIENT_ID: CLIENT_ID,
      WLCG_CLIENT_SECRET_FILE: secretFile,
      WLCG_AUTHORIZATION_URL: `${issuer.url}/auth`,
      WLCG_TOKEN_URL: `${issuer.url}/token`,
    });
  }

  async function keyFileFor(user: string, port: number): Promise<string> {
    return writeKeyFile(cd, [
      credDKeyAd({
        Provider: 'wlcg',
        LocalUser: user,
        Scopes: 'openid, offline_access, storage.read:/',
        ClientId: CLIENT_ID,
        ClientSecret: CLIENT_SECRET,
        ReturnUrl: `http://127.0.0.1:${port}/return/wlcg`,
        AuthorizationUrl: `${issuer.url}/auth`,
        TokenUrl: `${issuer.url}/token`,
      }),
    ]);
  }

  it('--web-listen serves the login in the credmon process: the login leaves .top/.use/.meta and the credmon rescans', async () => {
    const [port] = ports;
    const credmon = startCredmon(['--web-listen', `127.0.0.1:${port}`, '--debug', '--verbose'], {
      CONDOR_CONFIG: await config(port),
    });
    running.push(credmon);
    const [, url] = await waitFor(/credmon\.web-serving url=(\S+)/, credmon);
    assert.equal(new URL(url as string).port, String(port));
    await waitForCredmonComplete(cd, 0, 30_000);

    await login(`http://127.0.0.1:${port}`, await keyFileFor('alice', port));
    const use = JSON.parse((await readSecureFile(credPath(cd, 'alice', 'wlcg', 'use'))).toString());
    assert.equal(decodeToken(use.access_token).claims.sub, 'alice');
    await readSecureFile(credPath(cd, 'alice', 'wlcg', 'top'));
    const meta = (await readSecureFile(credPath(cd, 'alice', 'wlcg', 'meta'))).toString();
    assert.doesNotMatch(meta, /client_secret/);
    await waitFor(/credmon\.rescan reason="?web login/, credmon);

    credmon.child.kill('SIGTERM');
    assert.equal(await credmon.exited, 0, credmon.stderr());
    const log = await readFile(join(dir, 'CredMonOAuthLog'), 'utf8');
    assert.deepEqual(findLeaks([...issuer.issuedSecrets(), CLIENT_SECRET]), []);
    for (const secret of [...issuer.issuedSecrets(), CLIENT_SECRET]) assert.ok(!log.includes(secret));
  });

  it('a pass after a web login that cannot touch CREDMON_COMPLETE is logged; the credmon keeps running', async () => {
    const [port] = ports;
    const credmon = startCredmon(['--web-listen', `127.0.0.1:${port}`, '--debug', '--verbose'], {
      CONDOR_CONFIG: await config(port),
    });
    running.push(credmon);
    await waitFor(/credmon\.web-serving url=/, credmon);
    await waitForCredmonComplete(cd, 0, 30_000);
    // A directory where the file was: touching it fails (EISDIR), as a read-only file system would.
    await rm(join(cd.path, 'CREDMON_COMPLETE'));
    await mkdir(join(cd.path, 'CREDMON_COMPLETE'));

    await login(`http://127.0.0.1:${port}`, await keyFileFor('alice', port));
    await waitFor(/credmon\.warning .*a pass failed: EISDIR/, credmon);
    await sleep(200);
    assert.equal(credmon.child.exitCode, null, `still running:\n${credmon.stderr()}`);
    await readSecureFile(credPath(cd, 'alice', 'wlcg', 'use'));
    credmon.child.kill('SIGTERM');
    assert.equal(await credmon.exited, 0, credmon.stderr());
  });

  it('--web-only serves the login beside a running credmon and wakes it with a SIGHUP to <dir>/pid', async () => {
    const [enginePort, webPort] = ports;
    const engine = startCredmon(['--debug', '--verbose'], { CONDOR_CONFIG: await config(enginePort) });
    running.push(engine);
    await waitForCredmonComplete(cd, 0, 30_000);
    const web = startCredmon(
      ['--web-only', '--web-listen', `127.0.0.1:${webPort}`, '--log-file', join(dir, 'web.log'), '--verbose'],
      { CONDOR_CONFIG: await config(webPort) },
    );
    running.push(web);
    await waitFor(/credmon\.web-serving url=/, web);

    await login(`http://127.0.0.1:${webPort}`, await keyFileFor('alice', webPort));
    await readSecureFile(credPath(cd, 'alice', 'wlcg', 'use'));
    await waitFor(/credmon\.rescan reason="?SIGHUP/, engine);

    web.child.kill('SIGTERM');
    engine.child.kill('SIGTERM');
    assert.equal(await web.exited, 0, web.stderr());
    assert.equal(await engine.exited, 0, engine.stderr());
  });

  it('--web-only without --web-listen is a usage error', async () => {
    const r = await runCli(['credmon', '--web-only'], { env: { CONDOR_CONFIG: await config(ports[0]) } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--web-only needs --web-listen/);
  });
});
