import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createClientProvider } from '../../../src/credmon/providers/client.js';
import { createLog, type LogRecord } from '../../../src/log/index.js';
import { startTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import { decodeToken } from '../../../src/tokens/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { clientConfig, localTop, providerContext, ref } from './fixtures.js';

const SECRET = 'cc-secret-0123456789abcdef';

describe('credmon client-credentials provider, against the test issuer', () => {
  let issuer: TestIssuer;
  let dir: string;
  let credDir: string;
  let secretFile: string;
  let cleanup: () => Promise<void>;
  /** Bodies of the token requests the provider sent (an observing fetch in front of the real one). */
  let sent: string[];
  const observingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') sent.push(init.body);
    else if (init?.body instanceof URLSearchParams) sent.push(init.body.toString());
    return fetch(input, init);
  };

  before(async () => {
    issuer = await startTestIssuer({ accessTokenTtl: 900 });
  });
  after(async () => issuer.close());
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-client-'));
    credDir = join(dir, 'creds');
    await mkdir(credDir, { mode: 0o700 });
    secretFile = join(dir, 'robot.secret');
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    sent = [];
    issuer.setFault('none');
    await issuer.addClient({
      client_id: 'credmon-cc',
      client_secret: SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'storage.read:/ compute.read wlcg',
    });
  });
  afterEach(async () => cleanup());

  async function renewFor(
    user: string,
    config: ReturnType<typeof clientConfig>,
    provider = createClientProvider(config),
  ) {
    const ctx = providerContext(credDir, { clock: Date.now, fetch: observingFetch });
    await provider.prepare?.(ctx);
    await localTop(credDir, user, config.name);
    const outcome = await provider.renew(ref(user, config.name), ctx);
    const text = await readFile(join(credDir, user, `${config.name}.use`), 'utf8');
    return { outcome, text, provider };
  }

  it('TOKEN_URL: RFC 6749 scope= with {username} expanded, audience=, secret in the body; .use is {"access_token","expires_in"}, 0400', async () => {
    const config = clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token` });
    const { outcome, text } = await renewFor('alice', config);
    const use = JSON.parse(text) as { access_token: string; expires_in: number };
    assert.deepEqual(Object.keys(use), ['access_token', 'expires_in']);
    const { claims, audience, scope } = decodeToken(use.access_token);
    assert.deepEqual(scope, ['storage.read:/user/alice']);
    assert.deepEqual(audience, ['https://storage.example.org']);
    assert.equal(use.expires_in, 900);
    assert.equal(outcome.expiresAt, claims.exp);
    assert.equal((await stat(join(credDir, 'alice', 'robot.use'))).mode & 0o777, 0o400);
    const body = new URLSearchParams(sent.at(-1));
    assert.equal(body.get('grant_type'), 'client_credentials');
    assert.equal(body.get('scope'), 'storage.read:/user/alice');
    assert.equal(body.has('scopes'), false);
    assert.equal(body.get('audience'), 'https://storage.example.org');
    assert.equal(body.get('client_id'), 'credmon-cc');
    assert.equal(body.get('client_secret'), SECRET);
  });

  it('ISSUER without TOKEN_URL: the token endpoint comes from discovery; TOKEN_USE_JSON = false writes the bare token', async () => {
    const config = clientConfig({ clientSecretFile: secretFile, issuer: issuer.url, useJson: false });
    const { text } = await renewFor('bob', config);
    assert.match(text, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    assert.deepEqual(decodeToken(text).scope, ['storage.read:/user/bob']);
  });

  it('group scopes per group of the map file and `wlcg` for the WLCG profile, as HTCondor ClientCredmon asks', async () => {
    const mapfile = join(dir, 'groups.map');
    await writeFile(mapfile, '* alice physics,cms\n');
    const config = clientConfig({
      clientSecretFile: secretFile,
      tokenUrl: `${issuer.url}/token`,
      authzGroupTemplate: 'storage.read:/groups/{groupname}',
      authzGroupMapfile: mapfile,
      tokenVersion: 'wlcg:1.0',
    });
    const { text } = await renewFor('alice', config);
    const want = 'storage.read:/user/alice storage.read:/groups/physics storage.read:/groups/cms wlcg';
    assert.equal(new URLSearchParams(sent.at(-1)).get('scope'), want);
    const token = (JSON.parse(text) as { access_token: string }).access_token;
    assert.deepEqual(decodeToken(token).scope.sort(), want.split(' ').sort());
  });

  it('users asking the same thing share one request; a per-user scope asks per user', async () => {
    const shared = createClientProvider(
      clientConfig({
        clientSecretFile: secretFile,
        tokenUrl: `${issuer.url}/token`,
        scopes: ['compute.read'],
      }),
    );
    const ctx = providerContext(credDir, { clock: Date.now, fetch: observingFetch });
    for (const u of ['u1', 'u2', 'u3']) await localTop(credDir, u, 'robot');
    await Promise.all(['u1', 'u2', 'u3'].map((u) => shared.renew(ref(u, 'robot'), ctx)));
    assert.equal(sent.length, 1);
    const tokens = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (u) => readFile(join(credDir, u, 'robot.use'), 'utf8')),
    );
    assert.equal(new Set(tokens).size, 1);
    const perUser = createClientProvider(
      clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token` }),
    );
    await Promise.all(['u1', 'u2'].map((u) => perUser.renew(ref(u, 'robot'), ctx)));
    assert.equal(sent.length, 3);
  });

  it('a .top removed before the renewal: no request is sent, no token written', async () => {
    const provider = createClientProvider(
      clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token` }),
    );
    const ctx = providerContext(credDir, { fetch: observingFetch });
    await assert.rejects(provider.renew(ref('ghost', 'robot'), ctx), { code: 'TOKEN_NOT_FOUND' });
    assert.equal(sent.length, 0);
  });

  it('the secret file is read at each request: a rotated secret is used without a restart', async () => {
    const config = clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token` });
    const provider = createClientProvider(config);
    await renewFor('alice', config, provider);
    const rotated = 'rotated-secret-fedcba9876543210';
    await issuer.addClient({
      client_id: 'credmon-cc',
      client_secret: rotated,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'storage.read:/ compute.read',
    });
    await writeFile(secretFile, rotated);
    await renewFor('bob', config, provider);
    assert.equal(new URLSearchParams(sent.at(-1)).get('client_secret'), rotated);
  });

  it('a wrong secret: invalid_client naming the provider and what to check, no secret in any text, nothing written', async () => {
    const records: LogRecord[] = [];
    const log = createLog([{ write: (r) => records.push(r) }]);
    await writeFile(secretFile, 'wrong-secret-abcdef0123456789');
    const config = clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token` });
    const provider = createClientProvider(config);
    const ctx = providerContext(credDir, { log, fetch: observingFetch });
    await localTop(credDir, 'alice', 'robot');
    const err = await provider.renew(ref('alice', 'robot'), ctx).then(
      () => assert.fail('a wrong secret was accepted'),
      (e: Error & { code: string; error: string; hint?: string }) => e,
    );
    assert.equal(err.error, 'invalid_client');
    assert.match(err.message, /^client credentials for provider robot: issuer answered invalid_client/);
    assert.match(
      err.hint ?? '',
      /CLIENT_CREDMON_ROBOT_CLIENT_ID \(or CLIENT_CREDMON_CLIENT_ID\) and the secret in .*robot\.secret/,
    );
    await assert.rejects(stat(join(credDir, 'alice', 'robot.use')), { code: 'ENOENT' });
    // An issuer that echoes the request back: the secret is cut from the error.
    issuer.setFault('echo-secrets');
    const echoed = await provider.renew(ref('alice', 'robot'), ctx).then(
      () => assert.fail('echo fault accepted'),
      (e: Error & { hint?: string }) => e,
    );
    log.emit({ type: 'config.warning', level: 'warning', file: secretFile, message: echoed.message });
    const texts = [
      err.message,
      err.hint ?? '',
      echoed.message,
      echoed.hint ?? '',
      ...records.map((r) => r.text),
    ];
    assert.match(echoed.message, /invalid_request/);
    for (const secret of ['wrong-secret-abcdef0123456789', SECRET, encodeURIComponent(SECRET)])
      for (const text of texts) assert.ok(!text.includes(secret), `secret in: ${text}`);
  });

  it('a hung issuer: the renewal ends at the engine deadline with TIMEOUT, nothing written', async () => {
    issuer.setFault('hang');
    const config = clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token` });
    const provider = createClientProvider(config);
    await localTop(credDir, 'alice', 'robot');
    const ctx = providerContext(credDir, { signal: AbortSignal.timeout(300) });
    await assert.rejects(provider.renew(ref('alice', 'robot'), ctx), {
      code: 'TIMEOUT',
      message: /^client credentials for provider robot/,
    });
    await assert.rejects(stat(join(credDir, 'alice', 'robot.use')), { code: 'ENOENT' });
  });

  it('refuses at start: no secret file, an empty one or one others may read, no token endpoint, an unexpandable scope', async () => {
    const ctx = providerContext(credDir);
    const prepare = async (o: Partial<ReturnType<typeof clientConfig>>) =>
      createClientProvider(
        clientConfig({ clientSecretFile: secretFile, tokenUrl: `${issuer.url}/token`, ...o }),
      ).prepare?.(ctx);
    await assert.rejects(prepare({ clientSecretFile: join(dir, 'none.secret') }), {
      code: 'CONFIG_INVALID',
      message:
        /CLIENT_CREDMON_ROBOT_CLIENT_SECRET_FILE \(or CLIENT_CREDMON_CLIENT_SECRET_FILE\): the client secret file .*none\.secret does not exist/,
    });
    await writeFile(join(dir, 'empty.secret'), '\n', { mode: 0o600 });
    await assert.rejects(prepare({ clientSecretFile: join(dir, 'empty.secret') }), {
      code: 'CONFIG_INVALID',
      message: /empty\.secret is empty/,
    });
    // Read as the CredD reads it (read_secure_file): not readable by group or others.
    await writeFile(join(dir, 'open.secret'), 'robot-secret\n');
    await chmod(join(dir, 'open.secret'), 0o644);
    await assert.rejects(prepare({ clientSecretFile: join(dir, 'open.secret') }), {
      code: 'CONFIG_INVALID',
      message: /open\.secret may be read by others \(mode 644\)/,
    });
    await assert.rejects(prepare({ tokenUrl: undefined, issuer: undefined }), {
      code: 'CONFIG_INVALID',
      message: /neither CLIENT_CREDMON_ROBOT_TOKEN_URL .* nor CLIENT_CREDMON_ROBOT_ISSUER .* is set/,
    });
    await assert.rejects(prepare({ scopes: ['read:/{user}'] }), {
      code: 'CONFIG_INVALID',
      message: /\{user\}/,
    });
  });
});
