import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentRequest } from '../../../src/agent/client.js';
import { type OidcAgentIpcEvent, serveOidcAgentConnection } from '../../../src/agent/oidc-agent/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { encryptedRequest, HAVE_OIDC_TOKEN, openRaw, plainRequest, runOidcToken } from './ipc-client.js';

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const ISSUER = 'https://issuer.example/';
const EXPIRES_AT = Math.floor(Date.now() / 1000) + 3600;
const TOKEN = `${b64url({ alg: 'ES256', typ: 'at+jwt' })}.${b64url({ iss: ISSUER, sub: 'u1', 'wlcg.ver': '1.0' })}.c2lnbmF0dXJl`;
const IDLE_MS = 400;

describe('oidc-agent encrypted IPC, served to the real oidc-token 4.2.6', () => {
  before(() => {
    // A missing peer fails the suite loudly (scripts/setup.sh installs oidc-agent-cli); never a skip.
    assert.ok(HAVE_OIDC_TOKEN, 'oidc-agent-cli is not installed: run scripts/setup.sh');
  });
  let server: Server;
  let sock: string;
  let cleanup: () => Promise<void>;
  let requests: Record<string, unknown>[] = [];
  let events: OidcAgentIpcEvent[] = [];

  const handle = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    requests.push(request);
    if (request.account === 'denied') return { status: 'failure', error: 'account denied is not loaded' };
    if (request.account === 'hinted') {
      return {
        status: 'failure',
        error: 'account hinted is not loaded',
        info: 'run: tokenwarden add hinted',
      };
    }
    if (request.account === 'boom') throw new Error(`handler bug with ${TOKEN}`);
    if (request.account === 'slow') await sleep(250);
    if (request.account === 'nothing') return undefined as unknown as Record<string, unknown>;
    return { status: 'success', access_token: TOKEN, issuer: ISSUER, expires_at: EXPIRES_AT };
  };

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    sock = join(tmp.dir, 'agent.sock');
    server = createServer((socket) =>
      serveOidcAgentConnection(socket, handle, { idleTimeoutMs: IDLE_MS, onEvent: (e) => events.push(e) }),
    );
    await new Promise<void>((resolve) => server.listen(sock, resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cleanup();
  });

  beforeEach(() => {
    requests = [];
    events = [];
  });

  const tokenFor = async (args: string[]) => {
    const run = await runOidcToken(sock, args);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(requests.length, 1);
    return { run, request: requests[0] };
  };

  it('oidc-token ACCOUNT: sends account, min_valid_period 0 and application_hint, prints the token', async () => {
    const { run, request } = await tokenFor(['acct']);
    assert.equal(run.stdout.trim(), TOKEN);
    assert.deepEqual(request, {
      request: 'access_token',
      account: 'acct',
      min_valid_period: 0,
      application_hint: 'oidc-token',
    });
    assert.deepEqual(events, [{ type: 'served', encrypted: true }]);
  });

  it('--aud and --scope arrive as space-separated strings', async () => {
    const { run, request } = await tokenFor(['--aud=https://a https://b', '--scope=compute.read', 'acct']);
    assert.equal(run.stdout.trim(), TOKEN);
    assert.equal(request?.audience, 'https://a https://b');
    assert.equal(request?.scope, 'compute.read');
    assert.equal(request?.account, 'acct');
  });

  it('-t 300 sets min_valid_period', async () => {
    const { request } = await tokenFor(['-t', '300', 'acct']);
    assert.equal(request?.min_valid_period, 300);
  });

  it('-f (force new token) is min_valid_period -1, with no other field', async () => {
    const { run, request } = await tokenFor(['-f', 'acct']);
    assert.equal(run.stdout.trim(), TOKEN);
    assert.deepEqual(request, {
      request: 'access_token',
      account: 'acct',
      min_valid_period: -1,
      application_hint: 'oidc-token',
    });
  });

  it('an issuer URL instead of an account name is sent as issuer', async () => {
    const { run, request } = await tokenFor([ISSUER]);
    assert.equal(run.stdout.trim(), TOKEN);
    assert.equal(request?.issuer, ISSUER);
    assert.equal(request?.account, undefined);
  });

  it('--name sets application_hint', async () => {
    const { request } = await tokenFor(['--name=my-app', 'acct']);
    assert.equal(request?.application_hint, 'my-app');
  });

  it('-e prints expires_at, -i the issuer, -c all three as shell assignments', async () => {
    assert.equal((await tokenFor(['-e', 'acct'])).run.stdout.trim(), String(EXPIRES_AT));
    requests = [];
    assert.equal((await tokenFor(['-i', 'acct'])).run.stdout.trim(), ISSUER);
    requests = [];
    const { run } = await tokenFor(['-c', 'acct']);
    assert.match(run.stdout, new RegExp(`^OIDC_AT=${TOKEN.replace(/\./g, '\\.')}; export OIDC_AT;$`, 'm'));
    assert.match(run.stdout, /^OIDC_ISS=https:\/\/issuer\.example\/; export OIDC_ISS;$/m);
    assert.match(run.stdout, new RegExp(`^OIDC_EXP=${EXPIRES_AT}; export OIDC_EXP;$`, 'm'));
  });

  it('a failure reply makes oidc-token exit non-zero and print the error (and info)', async () => {
    const run = await runOidcToken(sock, ['denied']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /account denied is not loaded/);
    assert.equal(run.stdout, '');
    // oidc-agent's failure replies may carry "info", which oidc-token prints on the next line.
    const hinted = await runOidcToken(sock, ['hinted']);
    assert.notEqual(hinted.code, 0);
    assert.match(hinted.stderr, /account hinted is not loaded\s*\n\s*run: tokenwarden add hinted/);
  });

  it('a handler that throws gives a generic failure that leaks nothing', async () => {
    const run = await runOidcToken(sock, ['boom']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /internal error in the agent/);
    assert.doesNotMatch(run.stderr, /handler bug/);
    assert.deepEqual(events, [{ type: 'handler-error' }]);
    const nothing = await runOidcToken(sock, ['nothing']);
    assert.notEqual(nothing.code, 0);
    assert.match(nothing.stderr, /internal error in the agent/);
  });

  it('serves concurrent clients independently', async () => {
    const started = Date.now();
    const runs = await Promise.all([1, 2, 3, 4].map(() => runOidcToken(sock, ['slow'])));
    for (const run of runs) assert.equal(run.stdout.trim(), TOKEN);
    assert.ok(Date.now() - started < 4 * 250, 'requests were served one after another');
  });

  it('a plain-JSON client (IPC-API) gets a plain-JSON reply', async () => {
    const reply = await plainRequest(sock, JSON.stringify({ request: 'access_token', account: 'acct' }));
    assert.deepEqual(JSON.parse(reply), {
      status: 'success',
      access_token: TOKEN,
      issuer: ISSUER,
      expires_at: EXPIRES_AT,
    });
    assert.deepEqual(requests, [{ request: 'access_token', account: 'acct' }]);
    assert.deepEqual(events, [{ type: 'served', encrypted: false }]);
  });

  it("a client that half-closes after its request (as tokenwarden's own client does) still gets the reply", async () => {
    const conn = await openRaw(sock);
    conn.socket.end(JSON.stringify({ request: 'access_token', account: 'half' }));
    assert.equal(JSON.parse(await conn.closed).access_token, TOKEN);
  });

  it("tokenwarden's own agent client (src/agent/client.ts) is served", async () => {
    const reply = await agentRequest(sock, { request: 'access_token', account: 'tw' }, 2000);
    assert.equal(reply.status, 'success');
    assert.deepEqual(requests, [{ request: 'access_token', account: 'tw' }]);
  });

  it('a request cut short by the client hanging up gets a failure reply', async () => {
    const conn = await openRaw(sock);
    conn.socket.end('{"request":"access_tok');
    assert.deepEqual(JSON.parse(await conn.closed), { status: 'failure', error: 'malformed IPC message' });
    assert.equal(requests.length, 0);
  });

  it('a message split across many writes is reassembled', async () => {
    const plain = await (async () => {
      const conn = await openRaw(sock);
      for (const part of ['{"request":', '"access_token",', '"account":"a{}\\"}"', '}']) {
        conn.send(part);
        await sleep(20);
      }
      return conn.closed;
    })();
    assert.equal(JSON.parse(plain).status, 'success');
    const enc = await encryptedRequest(
      sock,
      { request: 'access_token', account: 'split' },
      { chunks: 5, delayMs: 15 },
    );
    assert.equal(enc.encrypted, true);
    assert.equal(enc.reply?.access_token, TOKEN);
    assert.deepEqual(
      requests.map((r) => r.account),
      ['a{}"}', 'split'],
    );
  });

  it('garbage gets a plain failure reply and the connection is closed', async () => {
    const reply = await plainRequest(sock, 'hello agent!\n');
    assert.deepEqual(JSON.parse(reply), { status: 'failure', error: 'malformed IPC message' });
    const badJson = await plainRequest(sock, '{"request": nope}');
    assert.equal(JSON.parse(badJson).status, 'failure');
    const notBase64 = await plainRequest(sock, `${'A'.repeat(43)}!`);
    assert.equal(JSON.parse(notBase64).status, 'failure');
    assert.equal(requests.length, 0);
  });

  it('oversized messages get a failure reply before the server buffers them', async () => {
    const hugeJson = JSON.stringify({ request: 'access_token', pad: 'x'.repeat(70 * 1024) });
    assert.deepEqual(JSON.parse(await plainRequest(sock, hugeJson)), {
      status: 'failure',
      error: 'IPC message too large',
    });
    const declared = await encryptedRequest(
      sock,
      { request: 'access_token' },
      { declaredLength: 10_000_000 },
    );
    assert.deepEqual(declared.reply, { status: 'failure', error: 'IPC message too large' });
    const real = await encryptedRequest(sock, { request: 'access_token', pad: 'x'.repeat(70 * 1024) });
    assert.equal(real.reply?.error, 'IPC message too large');
    assert.equal(requests.length, 0);
  });

  it('a tampered or mis-sized ciphertext is refused in plain JSON, as oidc-agent does', async () => {
    const tampered = await encryptedRequest(
      sock,
      { request: 'access_token', account: 'acct' },
      { tamper: true },
    );
    assert.equal(tampered.encrypted, false);
    assert.deepEqual(tampered.reply, { status: 'failure', error: 'could not decrypt IPC message' });
    const notJson = await encryptedRequest(sock, 'not json');
    assert.equal(notJson.encrypted, true);
    assert.equal(notJson.reply?.status, 'failure');
    assert.equal(requests.length, 0);
  });

  it('a low-order (all-zero) public key is refused', async () => {
    const reply = await plainRequest(sock, Buffer.alloc(32).toString('base64'));
    assert.deepEqual(JSON.parse(reply), {
      status: 'failure',
      error: 'invalid public key in IPC key exchange',
    });
  });

  it('a silent client is closed after idleTimeoutMs without blocking others', async () => {
    const started = Date.now();
    const silent = await openRaw(sock);
    const run = await runOidcToken(sock, ['acct']);
    assert.equal(run.stdout.trim(), TOKEN);
    assert.ok(Date.now() - started < IDLE_MS, 'oidc-token waited for the silent client');
    assert.equal(await silent.closed, '');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= IDLE_MS - 20 && elapsed < IDLE_MS + 1000, `closed after ${elapsed} ms`);
    assert.ok(events.some((e) => e.type === 'timeout'));
  });

  it('a client trickling bytes is closed at the same deadline', async () => {
    const started = Date.now();
    const slow = await openRaw(sock);
    const timer = setInterval(() => slow.send('A'), 50);
    await slow.closed;
    clearInterval(timer);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < IDLE_MS + 1000, `closed after ${elapsed} ms`);
  });

  it('a client that stops after the key exchange is closed too', async () => {
    const conn = await openRaw(sock);
    conn.send(Buffer.alloc(32, 9).toString('base64'));
    await conn.waitFor((t) => t.length === 44);
    assert.equal((await conn.closed).length, 44);
  });

  it('events never carry request or reply contents', async () => {
    await runOidcToken(sock, ['acct']);
    await runOidcToken(sock, ['boom']);
    await plainRequest(sock, 'garbage with a secret');
    const dump = JSON.stringify(events);
    assert.doesNotMatch(dump, /acct|secret|eyJ/);
  });

  it('still serves oidc-token after all of the above', async () => {
    const { run } = await tokenFor(['acct']);
    assert.equal(run.stdout.trim(), TOKEN);
  });
});
