import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { OAuthError } from '../../src/errors.js';
import {
  clientCredentialsGrant,
  createClient,
  initiateDeviceAuthorization,
  pollDeviceAuthorization,
  refreshTokenGrant,
  registerClient,
  tokenExchangeGrant,
  tokenRequestParameters,
} from '../../src/oidc/index.js';
import { Secret } from '../../src/secret.js';
import { startTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { decodeToken } from '../../src/tokens/index.js';

const ctx = { timeoutSeconds: 5 };

describe('oidc wrappers against the test issuer', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startTestIssuer();
  });
  after(async () => issuer.close());

  async function login(scope: string[]) {
    const reg = await registerClient(
      issuer.url,
      {
        clientName: 't',
        scope,
        grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      },
      ctx,
    );
    const client = await createClient(
      {
        issuer: issuer.url,
        clientId: reg.clientId,
        clientSecret: reg.clientSecret,
        authMethod: reg.authMethod,
      },
      ctx,
    );
    const auth = await initiateDeviceAuthorization(client, { scope }, ctx);
    await issuer.approveDeviceCode(auth.userCode, 'bob');
    const tokens = await pollDeviceAuthorization(client, auth, ctx);
    return { client, tokens };
  }

  it('device flow, then refresh down-scoped by audience= and by resource=', async () => {
    const { client, tokens } = await login(['openid', 'offline_access', 'storage.read:/', 'compute.read']);
    assert.ok(tokens.refreshToken);
    const a = await refreshTokenGrant(
      client,
      tokens.refreshToken,
      {
        scope: ['compute.read'],
        audience: ['https://a.example', 'https://b.example'],
        audienceParam: 'audience',
      },
      ctx,
    );
    const da = decodeToken(a.accessToken.reveal());
    assert.deepEqual(da.audience.sort(), ['https://a.example', 'https://b.example']);
    assert.deepEqual(da.scope, ['compute.read']);
    assert.equal(da.claims.sub, 'bob');
    assert.ok(a.refreshToken && !a.refreshToken.equals(tokens.refreshToken), 'rotated');
    const b = await refreshTokenGrant(
      client,
      a.refreshToken,
      { scope: ['storage.read:/'], audience: ['https://c.example'], audienceParam: 'resource' },
      ctx,
    );
    assert.deepEqual(decodeToken(b.accessToken.reveal()).audience, ['https://c.example']);
    // Reuse of a rotated refresh token is detected: invalid_grant, and the grant is revoked.
    await assert.rejects(refreshTokenGrant(client, tokens.refreshToken, {}, ctx), (err: OAuthError) => {
      assert.equal(err.error, 'invalid_grant');
      assert.equal(err.code, 'NEEDS_LOGIN');
      return true;
    });
    await assert.rejects(refreshTokenGrant(client, b.refreshToken as Secret, {}, ctx), {
      error: 'invalid_grant',
    });
  });

  it('token exchange narrows the scope and refuses escalation', async () => {
    const { client, tokens } = await login(['openid', 'offline_access', 'storage.read:/', 'compute.read']);
    const x = await tokenExchangeGrant(
      client,
      tokens.accessToken,
      { scope: ['compute.read'], audience: ['https://x'] },
      ctx,
    );
    const d = decodeToken(x.accessToken.reveal());
    assert.deepEqual(d.scope, ['compute.read']);
    assert.deepEqual(d.audience, ['https://x']);
    await assert.rejects(
      tokenExchangeGrant(client, tokens.accessToken, { scope: ['storage.modify:/'] }, ctx),
      {
        error: 'invalid_scope',
      },
    );
  });

  it('client credentials through a bare token endpoint (osg-token-renewer token_request_url)', async () => {
    await issuer.addClient({
      client_id: 'cc',
      client_secret: 'cc-secret-123456',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'compute.read',
    });
    const client = await createClient(
      {
        issuer: '',
        clientId: 'cc',
        clientSecret: new Secret('cc-secret-123456'),
        tokenEndpoint: `${issuer.url}/token`,
      },
      ctx,
    );
    const t = await clientCredentialsGrant(
      client,
      { scope: ['compute.read'], audience: ['https://ce'] },
      ctx,
    );
    assert.deepEqual(decodeToken(t.accessToken.reveal()).audience, ['https://ce']);
  });

  it('maps transport failures to clear codes', async () => {
    issuer.setFault('error500');
    const client = await createClient(
      {
        issuer: '',
        clientId: 'cc',
        clientSecret: new Secret('cc-secret-123456'),
        tokenEndpoint: `${issuer.url}/token`,
      },
      ctx,
    );
    await assert.rejects(clientCredentialsGrant(client, {}, ctx), { code: 'ISSUER_RESPONSE' });
    issuer.setFault('hang');
    const quick = await createClient(
      { issuer: '', clientId: 'cc', clientSecret: new Secret('x'), tokenEndpoint: `${issuer.url}/token` },
      { timeoutSeconds: 0.3 },
    );
    await assert.rejects(clientCredentialsGrant(quick, {}, { timeoutSeconds: 0.3 }), { code: 'TIMEOUT' });
    issuer.setFault('none');
    const down = await createClient(
      { issuer: '', clientId: 'cc', tokenEndpoint: `http://127.0.0.1:${await closedPort()}/token` },
      ctx,
    );
    await assert.rejects(clientCredentialsGrant(down, {}, ctx), { code: 'NETWORK', message: /ECONNREFUSED/ });
  });

  it('refuses plain http except on loopback', async () => {
    await assert.rejects(createClient({ issuer: 'http://example.org', clientId: 'x' }, ctx), {
      code: 'USAGE',
      message: /must use https/,
    });
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('tokenRequestParameters', () => {
  it('sends audience as one space-separated audience= or one resource= each', () => {
    assert.equal(
      tokenRequestParameters({ scope: ['a', 'b'], audience: ['x', 'y'] }).toString(),
      'scope=a+b&audience=x+y',
    );
    assert.equal(
      tokenRequestParameters({ audience: ['x', 'y'], audienceParam: 'resource' }).toString(),
      'resource=x&resource=y',
    );
    assert.equal(tokenRequestParameters({}).toString(), '');
  });
});
