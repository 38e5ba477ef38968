/**
 * The login server's other duties: the local issuer's discovery and JWKS (where relying parties find
 * the key of the tokens the credmon mints), the session cookie's Secure flag behind a proxy, the web
 * prefix's path, and the `.top` a login with an audience leaves.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { LocalProviderConfig } from '../../../src/credmon/config/types.js';
import { formatKeyFile } from '../../../src/credmon/key-file.js';
import {
  createLoginServer,
  type LoginServer,
  routePrefix,
  storeLogin,
} from '../../../src/credmon/web/index.js';
import { ensureKeyPair, jwksDocument, loadSigningKey, mintToken } from '../../../src/signing/index.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { tempDir } from '../../helpers/tmp.js';
import { credmonConfig, freePort } from './fixture.js';

function localProvider(dir: string, overrides: Partial<LocalProviderConfig> = {}): LocalProviderConfig {
  return {
    kind: 'local',
    name: 'scitokens',
    privateKeyPath: join(dir, 'scitokens-private.pem'),
    publicKeyPath: join(dir, 'scitokens.pem'),
    keyId: 'key-1',
    algorithm: 'ES256',
    issuer: 'https://ap.example.org',
    authzTemplate: 'read:/user/{username}',
    authzGroupTemplate: undefined,
    authzGroupMapfile: undefined,
    authzGroupRequirement: undefined,
    lifetimeSeconds: 1200,
    audience: ['ANY'],
    tokenVersion: 'scitoken:2.0',
    useJson: true,
    ...overrides,
  };
}

describe('credmon login server', { timeout: 60_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(configOverrides: Parameters<typeof credmonConfig>[1] = {}, trustProxy = false) {
    const tmp = await tempDir('tw-credmon-server-');
    cleanups.push(tmp.cleanup);
    const credDir = join(tmp.dir, 'creds');
    await mkdir(credDir, { mode: 0o700 });
    const port = await freePort();
    const config = credmonConfig(credDir, { webPrefix: `http://127.0.0.1:${port}`, ...configOverrides });
    const server: LoginServer = await createLoginServer({ config, port, trustProxy });
    cleanups.push(() => server.close());
    return { dir: tmp.dir, credDir, server, base: `http://127.0.0.1:${port}` };
  }

  it("serves the local issuer's discovery and JWKS; its keys verify what the private key signed", async () => {
    const tmp = await tempDir('tw-credmon-keys-');
    cleanups.push(tmp.cleanup);
    const local = localProvider(tmp.dir);
    // The key pair as the credmon makes it at its first start.
    await ensureKeyPair(local.privateKeyPath, local.publicKeyPath, { alg: 'ES256' });
    const { base } = await setup({ local: [local] });
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(discovery, {
      issuer: 'https://ap.example.org',
      jwks_uri: `${base}/.well-known/jwks-uri`,
    });
    const jwks = (await (await fetch(`${base}/.well-known/jwks-uri`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.kid, 'key-1');
    assert.equal(jwks.keys[0]?.alg, 'ES256');
    assert.equal(jwks.keys[0]?.use, 'sig');
    assert.equal(jwks.keys[0]?.d, undefined, 'no private part');
    const key = await loadSigningKey(local.privateKeyPath, { alg: 'ES256', kid: 'key-1' });
    const token = mintToken(key, {
      issuer: local.issuer,
      subject: 'alice',
      scope: 'read:/user/alice',
      audience: ['ANY'],
      lifetimeSeconds: 300,
      version: 'scitoken:2.0',
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    const verified = await jwtVerify(token, createLocalJWKSet(jwks as never), {
      issuer: 'https://ap.example.org',
    });
    assert.equal(verified.payload.sub, 'alice');
    assert.equal(verified.payload.ver, 'scitoken:2.0');
    // The same document the stand-alone issuer serves for this key.
    assert.deepEqual(jwks, jwksDocument([key]));
  });

  it('builds jwks_uri from the configuration, never from the Host header a client sends', async () => {
    const tmp = await tempDir('tw-credmon-keys-');
    cleanups.push(tmp.cleanup);
    const local = localProvider(tmp.dir, { issuer: 'https://ap.example.org/' });
    await ensureKeyPair(local.privateKeyPath, local.publicKeyPath, { alg: 'ES256' });
    // Without CREDMON_WEB_PREFIX.
    const { base } = await setup({ local: [local], webPrefix: undefined });
    const forged = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${base}/.well-known/openid-configuration`,
        { headers: { host: 'evil.example', 'x-forwarded-proto': 'https' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(forged.status, 200);
    assert.ok(!forged.body.includes('evil.example'), forged.body);
    assert.deepEqual(JSON.parse(forged.body), {
      issuer: 'https://ap.example.org/',
      jwks_uri: 'https://ap.example.org/.well-known/jwks-uri',
    });
  });

  it('publishes the key of every local provider of the served issuer, and no other', async () => {
    const tmp = await tempDir('tw-credmon-keys-');
    cleanups.push(tmp.cleanup);
    const first = localProvider(tmp.dir);
    const second = localProvider(tmp.dir, {
      name: 'scitokens_rsa',
      privateKeyPath: join(tmp.dir, 'rsa-private.pem'),
      publicKeyPath: join(tmp.dir, 'rsa.pem'),
      keyId: 'key-2',
      algorithm: 'RS256',
      issuer: 'https://ap.example.org/',
    });
    // Shares the first's key file: published once.
    const shared = localProvider(tmp.dir, { name: 'scitokens_shared' });
    const other = localProvider(tmp.dir, {
      name: 'elsewhere',
      privateKeyPath: join(tmp.dir, 'other-private.pem'),
      publicKeyPath: join(tmp.dir, 'other.pem'),
      keyId: 'key-other',
      issuer: 'https://other.example.org',
    });
    await ensureKeyPair(first.privateKeyPath, first.publicKeyPath, { alg: 'ES256' });
    await ensureKeyPair(second.privateKeyPath, second.publicKeyPath, { alg: 'RS256' });
    await ensureKeyPair(other.privateKeyPath, other.publicKeyPath, { alg: 'ES256' });
    const { base } = await setup({ local: [first, second, shared, other] });
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    assert.equal(discovery.issuer, 'https://ap.example.org');
    const jwks = (await (await fetch(`${base}/.well-known/jwks-uri`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    assert.deepEqual(
      jwks.keys.map((k) => [k.kid, k.alg]),
      [
        ['key-1', 'ES256'],
        ['key-2', 'RS256'],
      ],
    );
    // A token of each served provider verifies against the published keys; the other issuer's does not.
    const keySet = createLocalJWKSet(jwks as never);
    for (const [provider, alg] of [
      [first, 'ES256'],
      [second, 'RS256'],
      [other, 'ES256'],
    ] as const) {
      const key = await loadSigningKey(provider.privateKeyPath, { alg, kid: provider.keyId });
      const token = mintToken(key, {
        issuer: 'https://ap.example.org',
        subject: 'alice',
        scope: 'read:/user/alice',
        audience: ['ANY'],
        lifetimeSeconds: 300,
        version: 'scitoken:2.0',
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (provider === other) await assert.rejects(jwtVerify(token, keySet));
      else assert.equal((await jwtVerify(token, keySet)).payload.sub, 'alice');
    }
  });

  it('answers the JWKS route with a clear error when the public key is missing, and 404 without a local issuer', async () => {
    const tmp = await tempDir('tw-credmon-keys-');
    cleanups.push(tmp.cleanup);
    const { base } = await setup({ local: [localProvider(tmp.dir)] });
    const r = await fetch(`${base}/.well-known/jwks-uri`);
    assert.equal(r.status, 500);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'CONFIG_INVALID');
    assert.match(
      body.error.message,
      /LOCAL_CREDMON_PUBLIC_KEY: the public key file .*scitokens\.pem does not exist/,
    );
    const plain = await setup();
    assert.equal((await fetch(`${plain.base}/.well-known/jwks-uri`)).status, 404);
  });

  it('marks the session cookie Secure when a trusted proxy says https, and only then', async () => {
    for (const trustProxy of [true, false]) {
      const { base, credDir } = await setup({}, trustProxy);
      const key = 'ab'.repeat(32);
      await writeFile(join(credDir, key), 'Provider = "wlcg"\nLocalUser = "alice"\n', { mode: 0o640 });
      const viaProxy = await fetch(`${base}/key/${key}`, { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(viaProxy.status, 200);
      const cookie = viaProxy.headers.get('set-cookie') ?? '';
      assert.match(cookie, /HttpOnly; SameSite=Lax/);
      assert.equal(/; Secure/.test(cookie), trustProxy, cookie);
      const direct = await fetch(`${base}/key/${key}`);
      assert.doesNotMatch(direct.headers.get('set-cookie') ?? '', /Secure/);
      // The security headers of every tokenwarden page.
      assert.match(direct.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    }
  });

  it('serves its routes under the path of CREDMON_WEB_PREFIX', async () => {
    assert.equal(routePrefix('https://ap.example.org'), '');
    assert.equal(routePrefix('https://ap.example.org/credmon/'), '/credmon');
    assert.throws(() => routePrefix('ap.example.org'), /CREDMON_WEB_PREFIX "ap.example.org" is not a URL/);
    const port = await freePort();
    const tmp = await tempDir('tw-credmon-prefix-');
    cleanups.push(tmp.cleanup);
    const server = await createLoginServer({
      config: credmonConfig(tmp.dir, { webPrefix: `http://127.0.0.1:${port}/credmon` }),
      port,
    });
    cleanups.push(() => server.close());
    const key = 'cd'.repeat(32);
    await writeFile(
      join(tmp.dir, key),
      formatKeyFile([
        {
          provider: 'wlcg',
          localUser: 'alice',
          handle: 'x',
          clientId: 'cid',
          returnUrl: `http://127.0.0.1:${port}/credmon/return/wlcg`,
          authorizationUrl: 'http://127.0.0.1:9/auth',
          tokenUrl: 'http://127.0.0.1:9/token',
        },
      ]),
    );
    const r = await fetch(`http://127.0.0.1:${port}/credmon/key/${key}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('set-cookie') ?? '', /Path=\/credmon;/);
    assert.match(await r.text(), /href="\/credmon\/login\/wlcg%20x"/);
    // The login goes out with the ReturnUrl the CredD wrote, prefix included.
    const login = await fetch(`http://127.0.0.1:${port}/credmon/login/wlcg%20x`, {
      redirect: 'manual',
      headers: { cookie: (r.headers.get('set-cookie') ?? '').split(';')[0] as string },
    });
    assert.equal(login.status, 302);
    const to = new URL(login.headers.get('location') as string);
    assert.equal(to.searchParams.get('redirect_uri'), `http://127.0.0.1:${port}/credmon/return/wlcg`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/key/${key}`)).status, 404);
  });

  it('writes .top with the scopes and audience the CredD asked for, blanks removed, and no refresh flag without a refresh token', async () => {
    const tmp = await tempDir('tw-credmon-store-');
    cleanups.push(tmp.cleanup);
    await storeLogin({
      credDir: tmp.dir,
      user: 'alice',
      credName: 'scitokens',
      scopes: 'read:/public, write:/home',
      audience: 'https://a.example.org ',
      clientId: 'cid',
      tokenUrl: 'https://issuer.example.org/token',
      response: { access_token: 'at', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt' },
      now: 1_000_000,
    });
    const read = async (kind: string) =>
      JSON.parse(await readFile(join(tmp.dir, 'alice', `scitokens.${kind}`), 'utf8'));
    assert.deepEqual(await read('top'), {
      refresh_token: 'rt',
      scopes: 'read:/public,write:/home',
      audience: 'https://a.example.org',
    });
    assert.deepEqual(await read('use'), {
      access_token: 'at',
      token_type: 'Bearer',
      expires_in: 600,
      expires_at: 1600,
    });
    await storeLogin({
      credDir: tmp.dir,
      user: 'alice',
      credName: 'box',
      scopes: '',
      audience: '',
      clientId: 'cid',
      tokenUrl: 'https://issuer.example.org/token',
      response: { access_token: 'at2', token_type: 'Bearer' },
      now: 1_000_000,
    });
    assert.deepEqual(JSON.parse(await readFile(join(tmp.dir, 'alice', 'box.top'), 'utf8')), {
      refresh_token: '',
    });
    assert.deepEqual(JSON.parse(await readFile(join(tmp.dir, 'alice', 'box.meta'), 'utf8')), {
      client_id: 'cid',
      token_url: 'https://issuer.example.org/token',
      use_refresh_token: false,
    });
  });

  it('serves its own TLS, and then the session cookie is always Secure', async () => {
    const tmp = await tempDir('tw-credmon-tls-');
    cleanups.push(tmp.cleanup);
    const { certFile, keyFile } = selfSignedCert(tmp.dir);
    const credDir = join(tmp.dir, 'creds');
    await mkdir(credDir, { mode: 0o700 });
    const port = await freePort();
    const server = await createLoginServer({
      config: credmonConfig(credDir, { webPrefix: `https://127.0.0.1:${port}` }),
      port,
      tls: { certFile, keyFile },
    });
    cleanups.push(() => server.close());
    assert.equal(new URL(server.url).protocol, 'https:');
    const key = 'ef'.repeat(32);
    await writeFile(join(credDir, key), 'Provider = "wlcg"\nLocalUser = "alice"\n');
    const ca = await readFile(certFile, 'utf8');
    const answer = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = httpsRequest(new URL(`/key/${key}`, server.url), { ca }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie']?.[0] ?? '') }),
        );
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.status, 200);
    assert.match(answer.cookie, /^credmon_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
  });
});
