import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { type ErrorCode, TokenwardenError } from '../../src/errors.js';
import { createLog, type LogRecord } from '../../src/log/index.js';
import {
  CONTENT_SECURITY_POLICY,
  createWebServer,
  HTTP_STATUSES,
  httpStatusOf,
  type WebServer,
  type WebServerOptions,
} from '../../src/web/index.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

const servers: WebServer[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

function serve(options: WebServerOptions = {}): WebServer {
  const server = createWebServer(options);
  servers.push(server);
  return server;
}

function assertSecurityHeaders(res: Response): void {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /^default-src 'none'; /);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('cache-control'), 'no-store');
}

async function errorOf(res: Response): Promise<{ code: string; message: string; remedy?: unknown }> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string; remedy?: unknown } };
  assert.deepEqual(Object.keys(body), ['error']);
  // `remedy` only when a command fixes it.
  const keys = Object.keys(body.error).sort();
  assert.deepEqual(
    keys,
    body.error.remedy === undefined ? ['code', 'message'] : ['code', 'message', 'remedy'],
  );
  return body.error;
}

describe('createWebServer', () => {
  it('routes with schema-validated input: 200, then 400 naming the field, headers on both', async () => {
    const server = serve();
    server.app.post(
      '/greet',
      {
        schema: {
          body: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string', maxLength: 20 } },
            additionalProperties: false,
          },
        },
      },
      async (request) => ({ hello: (request.body as { name: string }).name }),
    );
    server.app.get('/ping', async () => 'pong');
    const base = await server.listen();
    assert.equal(base.hostname, '127.0.0.1');
    assert.equal(base.protocol, 'http:');

    const ok = await fetch(new URL('/greet', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'vo' }),
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { hello: 'vo' });
    assertSecurityHeaders(ok);

    const bad = await fetch(new URL('/greet', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: { first: 'vo' } }),
    });
    assert.equal(bad.status, 400);
    assertSecurityHeaders(bad);
    const error = await errorOf(bad);
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /name/);

    const extra = await fetch(new URL('/greet', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'vo', nmae: 'typo' }),
    });
    assert.equal(extra.status, 400, 'a property the schema does not allow is refused, not dropped');
    assert.equal((await errorOf(extra)).code, 'BAD_REQUEST');

    assert.equal(await (await fetch(new URL('/ping', base))).text(), 'pong');
  });

  it('answers a body that is not JSON with 400 without quoting it', async () => {
    const server = serve();
    server.app.post('/greet', async () => ({}));
    const base = await server.listen();
    const res = await fetch(new URL('/greet', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"refresh_token": "${JWT}" oops`,
    });
    assert.equal(res.status, 400);
    const error = await errorOf(res);
    assert.equal(error.code, 'BAD_REQUEST');
    assert.doesNotMatch(error.message, /refresh_token|eyJ/);
  });

  it('refuses a body over the limit with 413', async () => {
    const server = serve({ bodyLimitBytes: 1024 });
    server.app.post('/upload', async () => ({ ok: true }));
    const base = await server.listen();
    const res = await fetch(new URL('/upload', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: 'x'.repeat(2048) }),
    });
    assert.equal(res.status, 413);
    assertSecurityHeaders(res);
    assert.equal((await errorOf(res)).code, 'BODY_TOO_LARGE');
  });

  it('answers an unknown route 404 in JSON, or as a small escaped page for a browser', async () => {
    const server = serve();
    const base = await server.listen();
    const json = await fetch(new URL('/nowhere?token=abc', base));
    assert.equal(json.status, 404);
    assertSecurityHeaders(json);
    assert.equal((await errorOf(json)).code, 'NOT_FOUND');

    const html = await fetch(new URL('/<script>', base), {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    assert.equal(html.status, 404);
    assertSecurityHeaders(html);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const page = await html.text();
    assert.match(page, /<h1>404 Not Found<\/h1>/);
    assert.match(page, /<code>NOT_FOUND<\/code>/);
    assert.doesNotMatch(page, /<script/);
  });

  it('answers a handler that hangs at the deadline with 503, and aborts its request.signal', async () => {
    const server = serve({ requestTimeoutMs: 300 });
    let aborted: Promise<void> | undefined;
    server.app.get('/hang', (request) => {
      aborted = new Promise((resolve) => request.signal.addEventListener('abort', () => resolve()));
      return new Promise(() => {});
    });
    const base = await server.listen();
    const res = await fetch(new URL('/hang', base));
    assert.equal(res.status, 503);
    assertSecurityHeaders(res);
    const error = await errorOf(res);
    assert.equal(error.code, 'DEADLINE');
    assert.match(error.message, /not answered in time/);
    await aborted;
  });

  it('maps a TokenwardenError to its status and code; a bug to a bare 500; never a stack or a secret', async () => {
    const records: LogRecord[] = [];
    const log = createLog([{ write: (r) => records.push(r) }], { level: 'debug' });
    log.addSecret('client-secret-value');
    const server = serve({ log });
    server.app.get('/login', async () => {
      throw new TokenwardenError('NEEDS_LOGIN', `account vo needs a new login (issuer echoed ${JWT})`);
    });
    server.app.get('/bug', async () => {
      throw new Error('cannot read properties of undefined, client_secret=client-secret-value');
    });
    server.app.get('/issuer-down', async () => {
      throw new TokenwardenError('NETWORK', 'cannot reach https://issuer.example: ECONNREFUSED');
    });
    server.app.get('/no-credential', async () => {
      throw new TokenwardenError('STORE_NOT_FOUND', 'no credential for [account vo] yet', {
        remedy: { command: 'setup', account: 'vo', config: '/etc/tw.ini' },
      });
    });
    const base = await server.listen();

    const login = await fetch(new URL('/login', base));
    assert.equal(login.status, 409);
    assert.deepEqual(await errorOf(login), {
      code: 'NEEDS_LOGIN',
      message: 'account vo needs a new login (issuer echoed [REDACTED-JWT])',
    });

    const bug = await fetch(new URL('/bug', base));
    assert.equal(bug.status, 500);
    const text = await bug.text();
    assert.deepEqual(JSON.parse(text), { error: { code: 'INTERNAL', message: 'internal error' } });
    assert.doesNotMatch(text, /client-secret-value|at .*\.js|stack/);

    const down = await fetch(new URL('/issuer-down?x=1', base));
    assert.equal(down.status, 502);
    assert.equal((await errorOf(down)).code, 'NETWORK');

    // The command that fixes it goes to the client as data, not as words of the CLI.
    const missing = await fetch(new URL('/no-credential', base));
    assert.equal(missing.status, 404);
    assert.deepEqual(await errorOf(missing), {
      code: 'STORE_NOT_FOUND',
      message: 'no credential for [account vo] yet',
      remedy: { command: 'setup', account: 'vo', config: '/etc/tw.ini' },
    });

    await server.close();
    const lines = records.map((r) => `${r.level} ${r.text}`);
    assert.ok(
      lines.includes(
        'error http.error method=GET route=/bug status=500 code=INTERNAL message="cannot read properties of undefined, client_secret=[REDACTED]"',
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^debug http\.request method=GET route=\/issuer-down status=502 ms=\d+$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /^debug http\.request method=GET route=\/login status=409 ms=\d+$/.test(l)));
    assert.ok(!lines.some((l) => l.includes('x=1')), 'the query string is never logged');
  });

  it('maps every error code to a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(HTTP_STATUSES)) {
      assert.ok(status >= 400 && status < 600, code);
      assert.equal(httpStatusOf(code as ErrorCode), status);
    }
    assert.equal(httpStatusOf('NEEDS_LOGIN'), 409);
    assert.equal(httpStatusOf('CONFIG_INVALID'), 500);
    assert.equal(httpStatusOf('USAGE'), 400);
  });

  it('close() is idempotent and stops listening', async () => {
    const server = serve();
    server.app.get('/ping', async () => 'pong');
    const base = await server.listen();
    assert.equal((await fetch(new URL('/ping', base))).status, 200);
    const [a, b] = [server.close(), server.close()];
    assert.equal(a, b);
    await Promise.all([a, b]);
    await server.close();
    await assert.rejects(fetch(new URL('/ping', base)));
  });

  it('refuses plain HTTP on an address that is not loopback, unless allowPlain', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'example.org']) {
      assert.throws(
        () => createWebServer({ host }),
        (err: unknown) =>
          err instanceof TokenwardenError &&
          err.code === 'CONFIG_INVALID' &&
          err.message.includes(`plain HTTP on ${host}`) &&
          err.message.includes('TLS'),
      );
    }
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost']) serve({ host });
    // Created, not started: tests listen on 127.0.0.1 only.
    serve({ host: '0.0.0.0', allowPlain: true });
  });
});

describe('createWebServer with TLS', () => {
  async function makeCert(): Promise<{ dir: string; certFile: string; keyFile: string }> {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const { certFile, keyFile } = selfSignedCert(dir);
    return { dir, certFile, keyFile };
  }

  function get(
    url: URL,
    ca: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves HTTPS from a certificate and key read at start', async () => {
    const { certFile, keyFile } = await makeCert();
    const server = serve({ tls: { certFile, keyFile } });
    server.app.get('/ping', async () => ({ pong: true }));
    const base = await server.listen();
    assert.equal(base.protocol, 'https:');
    const { readFile } = await import('node:fs/promises');
    const res = await get(new URL('/ping', base), await readFile(certFile, 'utf8'));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { pong: true });
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it('may listen beyond loopback with TLS (checked without listening there)', async () => {
    const { certFile, keyFile } = await makeCert();
    serve({ host: '0.0.0.0', tls: { certFile, keyFile } });
  });

  it('a missing, unreadable or mismatched key is a clear CONFIG_INVALID error', async () => {
    const { dir, certFile, keyFile } = await makeCert();
    const other = await makeCert();
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a key\n', { mode: 0o600 });
    const cases: Array<[WebServerOptions['tls'], RegExp]> = [
      [{ certFile, keyFile: join(dir, 'missing.pem') }, /cannot read the TLS key .*missing\.pem \(ENOENT\)/],
      [
        { certFile: join(dir, 'nocert.pem'), keyFile },
        /cannot read the TLS certificate .*nocert\.pem \(ENOENT\)/,
      ],
      [{ certFile, keyFile: garbage }, /^the TLS key .*garbage\.pem is not an unencrypted PEM private key$/],
      [{ certFile: garbage, keyFile }, /^the TLS certificate .*garbage\.pem is not a PEM certificate$/],
      [
        { certFile, keyFile: other.keyFile },
        /^the TLS key .*key\.pem does not belong to the certificate .*cert\.pem$/,
      ],
    ];
    for (const [tls, message] of cases) {
      assert.throws(
        () => createWebServer(tls ? { tls } : {}),
        (err: unknown) =>
          err instanceof TokenwardenError && err.code === 'CONFIG_INVALID' && message.test(err.message),
        String(message),
      );
    }
  });
});
