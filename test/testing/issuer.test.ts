import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oc from 'openid-client';
import { startTestIssuer, type TestIssuer, type TestIssuerOptions } from '../../src/testing/index.js';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ANY = 'https://wlcg.cern.ch/jwt/v1/any';
const WIDE = 'openid offline_access wlcg.groups storage.read:/ storage.modify:/ compute.read compute.create';
const insecure = { execute: [oc.allowInsecureRequests] };

type Tokens = Awaited<ReturnType<typeof oc.refreshTokenGrant>>;

/** Dynamic registration (RFC 7591) of a confidential device-flow client, as tokenwarden setup does it. */
function register(issuer: TestIssuer, metadata: Partial<oc.ClientMetadata> = {}): Promise<oc.Configuration> {
  return oc.dynamicClientRegistration(
    new URL(issuer.url),
    {
      client_name: 'issuer test',
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [DEVICE_CODE, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      ...metadata,
    },
    undefined,
    insecure,
  );
}

/** Device flow with programmatic approval; the token request is sent at once instead of after `interval`. */
async function deviceLogin(issuer: TestIssuer, config: oc.Configuration, scope: string, accountId?: string) {
  const auth = await oc.initiateDeviceAuthorization(config, { scope });
  await issuer.approveDeviceCode(auth.user_code, accountId);
  return oc.genericGrantRequest(config, DEVICE_CODE, { device_code: auth.device_code });
}

function claims(tokens: { access_token: string }): Record<string, unknown> {
  return decodeJwt(tokens.access_token) as Record<string, unknown>;
}

/** Rejects with an OAuth error response (RFC 6749 section 5.2) whose `error` is `code`. */
async function rejectsWithOAuthError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof oc.ResponseBodyError, String(err));
    assert.equal(err.error, code);
    assert.equal(err.status, 400);
    return true;
  });
}

function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A native app's loopback redirect receiver (RFC 8252 section 7.3) on a random port. */
async function loopbackReceiver(): Promise<{ server: Server; redirectUri: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.end('signed in'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return {
    server,
    redirectUri,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A minimal user agent with a cookie jar that does not follow redirects by itself. */
function browser() {
  const jar = new Map<string, string>();
  return async (url: string | URL, init: { method?: string; form?: Record<string, string> } = {}) => {
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return response;
  };
}

describe('test issuer: discovery, keys and registration', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startTestIssuer();
  });
  after(() => issuer.close());

  it('serves discovery and an ES256 JWKS on 127.0.0.1', async () => {
    assert.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const config = await oc.discovery(new URL(issuer.url), 'unregistered', undefined, undefined, insecure);
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, issuer.url);
    for (const scope of [
      'storage.read:/',
      'storage.modify:/',
      'storage.create:/',
      'compute.cancel',
      'wlcg.groups',
    ]) {
      assert.ok(meta.scopes_supported?.includes(scope), scope);
    }
    for (const grant of [
      DEVICE_CODE,
      TOKEN_EXCHANGE,
      'client_credentials',
      'refresh_token',
      'authorization_code',
    ]) {
      assert.ok(meta.grant_types_supported?.includes(grant), grant);
    }
    assert.ok(meta.device_authorization_endpoint && meta.registration_endpoint);
    const jwks = (await (await fetch(meta.jwks_uri as string)).json()) as JSONWebKeySet;
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.alg, 'ES256');
    assert.equal(jwks.keys[0]?.crv, 'P-256');
    assert.equal(jwks.keys[0]?.d, undefined, 'no private part published');
  });

  it('registers clients openly and lets them manage their registration (RFC 7591, RFC 7592)', async () => {
    const config = await register(issuer, { scope: 'openid offline_access compute.read' });
    const client = config.clientMetadata();
    assert.equal(typeof client.client_secret, 'string');
    assert.ok(
      (client.grant_types as string[]).includes(TOKEN_EXCHANGE),
      'confidential clients may exchange tokens',
    );
    const uri = client.registration_client_uri as string;
    const auth = { authorization: `Bearer ${client.registration_access_token as string}` };
    const read = await fetch(uri, { headers: auth });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { client_id: string }).client_id, client.client_id);
    const removed = await fetch(uri, { method: 'DELETE', headers: auth });
    assert.equal(removed.status, 204);
    assert.equal((await fetch(uri, { headers: auth })).status, 401);
  });

  it("accepts oidc-gen's registration request", async () => {
    // What oidc-agent 4 sends: application_type web, a private-use scheme among localhost redirects, and
    // scopes the provider does not list.
    const response = await fetch(`${issuer.url}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        application_type: 'web',
        client_name: 'oidc-agent:issuer-test',
        response_types: ['code'],
        grant_types: ['refresh_token', 'authorization_code', DEVICE_CODE],
        scope: 'openid offline_access storage.read:/data compute.read eduperson_entitlement',
        redirect_uris: [
          'http://localhost:4242',
          'http://localhost:23511',
          'http://localhost:8080',
          'edu.kit.data.oidc-agent:/redirect',
        ],
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.application_type, 'native');
    assert.equal(body.scope, 'openid offline_access storage.read:/ compute.read');
    assert.equal(typeof body.client_secret, 'string');
  });

  it('rejects a bad client given to addClient, and bad options', async () => {
    await assert.rejects(
      issuer.addClient({ client_id: 'bad', client_secret: 'x', redirect_uris: ['not a uri'] }),
      {
        code: 'USAGE',
        message: /client bad: redirect_uris/,
      },
    );
    await assert.rejects(startTestIssuer({ accessTokenTtl: 0 }), {
      code: 'USAGE',
      message: /accessTokenTtl/,
    });
    await assert.rejects(startTestIssuer({ deviceInterval: 0 }), {
      code: 'USAGE',
      message: /deviceInterval/,
    });
  });
});

describe('test issuer: device flow, refresh, audiences and scopes', () => {
  let issuer: TestIssuer;
  let config: oc.Configuration;
  before(async () => {
    issuer = await startTestIssuer();
    config = await register(issuer);
  });
  after(() => issuer.close());

  it('runs the device flow (RFC 8628) with the configured interval and mints WLCG JWTs', async () => {
    const auth = await oc.initiateDeviceAuthorization(config, { scope: `${WIDE} storage.read:/data` });
    assert.equal(auth.interval, 1);
    assert.match(auth.user_code, /^[B-Z]{4}-[B-Z]{4}$/);
    await issuer.approveDeviceCode(auth.user_code.toLowerCase(), 'carol');
    const tokens = await oc.pollDeviceAuthorizationGrant(config, auth);
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
    assert.ok(tokens.id_token);

    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), {
      issuer: issuer.url,
      audience: ANY,
    });
    assert.equal(payload.sub, 'carol');
    assert.equal(payload.aud, ANY, 'a single audience is a string');
    assert.equal(payload.scope, `${WIDE} storage.read:/data`);
    assert.equal(payload['wlcg.ver'], '1.0');
    assert.deepEqual(payload['wlcg.groups'], ['/wlcg', '/wlcg/test']);
    assert.equal(payload.client_id, config.clientMetadata().client_id);
    assert.equal(payload.nbf, payload.iat);
    assert.equal((payload.exp as number) - (payload.iat as number), 600);
    assert.equal(typeof payload.jti, 'string');
    // The code is spent.
    await assert.rejects(issuer.approveDeviceCode(auth.user_code), { code: 'USAGE' });
  });

  it('answers access_denied to a denied device code, and refuses unknown user codes', async () => {
    const auth = await oc.initiateDeviceAuthorization(config, { scope: 'openid compute.read' });
    await issuer.denyDeviceCode(auth.user_code);
    await rejectsWithOAuthError(
      oc.genericGrantRequest(config, DEVICE_CODE, { device_code: auth.device_code }),
      'access_denied',
    );
    await assert.rejects(issuer.approveDeviceCode('BBBB-BBBB'), { code: 'USAGE', message: /no device code/ });
  });

  it('rotates refresh tokens and detects reuse: the replay fails and the whole grant is revoked', async () => {
    const first = await deviceLogin(issuer, config, 'openid offline_access compute.read');
    const before = issuer.stats();
    const second = await oc.refreshTokenGrant(config, first.refresh_token as string);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'rotated');
    assert.ok((issuer.refreshTokenConsumedAt(first.refresh_token as string) ?? 0) > 0);
    assert.equal(issuer.refreshTokenConsumedAt(second.refresh_token), undefined);

    await rejectsWithOAuthError(oc.refreshTokenGrant(config, first.refresh_token as string), 'invalid_grant');
    await rejectsWithOAuthError(oc.refreshTokenGrant(config, second.refresh_token), 'invalid_grant');
    const stats = issuer.stats();
    assert.equal(stats.reuseDetected, before.reuseDetected + 1);
    assert.equal(stats.revokedGrants, before.revokedGrants + 1);
    assert.equal(stats.tokenErrors.invalid_grant, (before.tokenErrors.invalid_grant ?? 0) + 2);
    assert.equal(stats.tokenRequests.refresh_token, (before.tokenRequests.refresh_token ?? 0) + 1);
  });

  it('sets any audience at refresh, with audience= or with resource=', async () => {
    let tokens: Tokens = await deviceLogin(issuer, config, WIDE, 'dave');
    const refresh = async (params: URLSearchParams) => {
      tokens = await oc.refreshTokenGrant(config, tokens.refresh_token as string, params);
      return claims(tokens).aud;
    };
    assert.deepEqual(
      await refresh(new URLSearchParams({ audience: 'https://a.example https://b.example' })),
      ['https://a.example', 'https://b.example'],
    );
    assert.deepEqual(
      await refresh(
        new URLSearchParams([
          ['resource', 'https://c.example'],
          ['resource', 'https://d.example'],
        ]),
      ),
      ['https://c.example', 'https://d.example'],
    );
    assert.equal(await refresh(new URLSearchParams({ resource: 'https://e.example' })), 'https://e.example');
    assert.equal(await refresh(new URLSearchParams({ audience: 'https://f.example' })), 'https://f.example');
    assert.equal(await refresh(new URLSearchParams()), ANY);
    assert.equal(issuer.stats().tokenErrors.invalid_target, undefined);
  });

  it('down-scopes at refresh to exactly the subset asked, and refuses scopes not granted', async () => {
    const tokens = await deviceLogin(issuer, config, WIDE);
    const narrow = await oc.refreshTokenGrant(config, tokens.refresh_token as string, {
      scope: 'storage.read:/ compute.read',
      audience: 'https://se.example',
    });
    assert.equal(claims(narrow).scope, 'storage.read:/ compute.read');
    assert.equal(narrow.scope, 'storage.read:/ compute.read');
    await rejectsWithOAuthError(
      oc.refreshTokenGrant(config, narrow.refresh_token as string, { scope: 'compute.read compute.cancel' }),
      'invalid_scope',
    );
  });

  it('exchanges an access token for a narrower one (RFC 8693) and refuses escalation', async () => {
    const tokens = await deviceLogin(issuer, config, WIDE, 'erin');
    const exchange = (params: Record<string, string>) =>
      oc.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: tokens.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        ...params,
      });
    const narrow = await exchange({ scope: 'compute.read', audience: 'https://ce.example' });
    assert.equal(narrow.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(narrow.refresh_token, undefined);
    const c = claims(narrow);
    assert.equal(c.scope, 'compute.read');
    assert.equal(c.aud, 'https://ce.example');
    assert.equal(c.sub, 'erin');
    assert.deepEqual(c['wlcg.groups'], ['/wlcg', '/wlcg/test']);
    assert.equal(c['wlcg.ver'], '1.0');

    const same = await exchange({ resource: 'https://x.example' });
    assert.equal(claims(same).scope, claims(tokens).scope, 'no scope: the subject token scope');
    assert.equal(claims(same).aud, 'https://x.example');

    await rejectsWithOAuthError(exchange({ scope: 'compute.read compute.cancel' }), 'invalid_scope');
    // An exchanged token cannot be widened again either.
    await rejectsWithOAuthError(
      oc.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: narrow.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        scope: 'storage.read:/',
      }),
      'invalid_scope',
    );
    const forged = `${tokens.access_token.slice(0, -4)}AAAA`;
    await rejectsWithOAuthError(
      oc.genericGrantRequest(config, TOKEN_EXCHANGE, {
        subject_token: forged,
        subject_token_type: ACCESS_TOKEN_TYPE,
      }),
      'invalid_request',
    );
  });

  it('refuses token exchange to a client that does not authenticate', async () => {
    const tokens = await deviceLogin(issuer, config, 'openid compute.read');
    const publicClient = await register(issuer, {
      token_endpoint_auth_method: 'none',
      grant_types: [TOKEN_EXCHANGE],
    });
    await rejectsWithOAuthError(
      oc.genericGrantRequest(publicClient, TOKEN_EXCHANGE, {
        subject_token: tokens.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
      }),
      'invalid_client',
    );
  });

  it('issues client credentials tokens with the audience asked for', async () => {
    await issuer.addClient({
      client_id: 'robot',
      client_secret: 'robot-secret-0123456789',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'compute.read storage.read:/',
    });
    const robot = new oc.Configuration(
      (await oc.discovery(new URL(issuer.url), 'robot', undefined, undefined, insecure)).serverMetadata(),
      'robot',
      'robot-secret-0123456789',
    );
    oc.allowInsecureRequests(robot);
    const a = claims(
      await oc.clientCredentialsGrant(robot, { scope: 'compute.read', audience: 'https://ce.example' }),
    );
    assert.equal(a.sub, 'robot');
    assert.equal(a.client_id, 'robot');
    assert.equal(a.scope, 'compute.read');
    assert.equal(a.aud, 'https://ce.example');
    assert.equal(a['wlcg.groups'], undefined, 'a client has no groups');
    const b = claims(
      await oc.clientCredentialsGrant(
        robot,
        new URLSearchParams([
          ['resource', 'https://1.example'],
          ['resource', 'https://2.example'],
        ]),
      ),
    );
    assert.deepEqual(b.aud, ['https://1.example', 'https://2.example']);
    await rejectsWithOAuthError(
      oc.clientCredentialsGrant(robot, { scope: 'compute.modify' }),
      'invalid_scope',
    );
    assert.ok(issuer.issuedSecrets().includes('robot-secret-0123456789'));
  });

  it('counts token requests by grant type and errors by code', () => {
    const stats = issuer.stats();
    assert.ok((stats.tokenRequests[DEVICE_CODE] ?? 0) >= 6);
    assert.equal(stats.tokenRequests.client_credentials, 2);
    assert.equal(stats.tokenRequests[TOKEN_EXCHANGE], 2);
    assert.ok((stats.tokenErrors.invalid_scope ?? 0) >= 4);
    assert.equal(stats.tokenErrors.access_denied, 1);
    assert.equal(stats.faultedRequests, 0);
  });

  it('revokes every grant on request', async () => {
    const tokens = await deviceLogin(issuer, config, 'openid offline_access compute.read');
    const before = issuer.stats().revokedGrants;
    await issuer.revokeAllGrants();
    await rejectsWithOAuthError(
      oc.refreshTokenGrant(config, tokens.refresh_token as string),
      'invalid_grant',
    );
    assert.ok(issuer.stats().revokedGrants > before);
  });
});

describe('test issuer: authorization code flow', () => {
  let issuer: TestIssuer | undefined;
  let receiver: Awaited<ReturnType<typeof loopbackReceiver>> | undefined;
  afterEach(async () => {
    await issuer?.close();
    await receiver?.close();
  });

  /** A native client registered with a port-less loopback redirect URI, and a PKCE authorization URL. */
  async function start(options: TestIssuerOptions) {
    issuer = await startTestIssuer(options);
    receiver = await loopbackReceiver();
    const config = await register(issuer, {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    });
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const url = oc.buildAuthorizationUrl(config, {
      redirect_uri: receiver.redirectUri,
      scope: 'openid offline_access storage.read:/ compute.read',
      prompt: 'consent',
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const redeem = (callback: string) =>
      oc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    return { config, url, redeem, redirectUri: receiver.redirectUri };
  }

  it('with autoApproveInteractions, a plain GET following redirects ends at the loopback redirect_uri', async () => {
    const flow = await start({ autoApproveInteractions: 'frank' });
    const response = await fetch(flow.url);
    assert.equal(await response.text(), 'signed in');
    assert.ok(response.url.startsWith(`${flow.redirectUri}?code=`), response.url);
    const tokens = await flow.redeem(response.url);
    assert.ok(tokens.refresh_token);
    const c = claims(tokens);
    assert.equal(c.sub, 'frank');
    assert.equal(c.scope, 'openid offline_access storage.read:/ compute.read');
    assert.equal(c.aud, ANY);
    assert.equal(tokens.claims()?.sub, 'frank');
  });

  it('refuses a redirect_uri other than the registered loopback one', async () => {
    const flow = await start({ autoApproveInteractions: 'frank' });
    const url = new URL(flow.url);
    url.searchParams.set('redirect_uri', flow.redirectUri.replace('/callback', '/elsewhere'));
    const response = await fetch(url);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /redirect_uri/);
  });

  /** Walks the sign-in page as a person would, submitting `form`; returns the redirect to the client. */
  async function signInOnPages(flow: { url: URL; redirectUri: string }, form: Record<string, string>) {
    const base = issuer?.url;
    const go = browser();
    const toLogin = await go(flow.url);
    assert.equal(toLogin.status, 303);
    const page = await go(new URL(toLogin.headers.get('location') as string, base));
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /<code>storage\.read:\/<\/code>/);
    const action = /action="([^"]+)"/.exec(html)?.[1] as string;
    let response = await go(new URL(action, base), { method: 'POST', form });
    while (response.status === 303) {
      const next = new URL(response.headers.get('location') as string, base);
      if (next.href.startsWith(flow.redirectUri)) return next;
      response = await go(next);
    }
    assert.fail(`no redirect to the client, HTTP ${response.status}`);
  }

  it('without it, a person signs in and consents on the pages', async () => {
    const flow = await start({});
    const callback = await signInOnPages(flow, { username: 'grace', decision: 'approve' });
    assert.ok(callback.searchParams.has('code'), callback.href);
    assert.equal(claims(await flow.redeem(callback.href)).sub, 'grace');
  });

  it('a person who denies sends the client access_denied', async () => {
    const flow = await start({});
    const callback = await signInOnPages(flow, { username: 'grace', decision: 'deny' });
    assert.equal(callback.searchParams.get('error'), 'access_denied', callback.href);
  });
});

describe('test issuer: device flow in a browser, auto approval and options', () => {
  let issuer: TestIssuer | undefined;
  afterEach(async () => {
    await issuer?.close();
  });

  it('lets a person enter, confirm and approve a user code on the pages', async () => {
    issuer = await startTestIssuer();
    const config = await register(issuer);
    const auth = await oc.initiateDeviceAuthorization(config, {
      scope: 'openid offline_access compute.read',
    });
    const go = browser();
    const confirm = await go(auth.verification_uri_complete as string);
    const html = await confirm.text();
    assert.equal(confirm.status, 200);
    assert.ok(html.includes(auth.user_code));
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] as string;
    let response = await go(`${issuer.url}/device`, {
      method: 'POST',
      form: { xsrf, user_code: auth.user_code, confirm: 'yes' },
    });
    const interaction = new URL(response.headers.get('location') as string, issuer.url);
    const page = await go(interaction);
    assert.match(await page.text(), /Sign in and approve/);
    response = await go(interaction, { method: 'POST', form: { username: 'heidi', decision: 'approve' } });
    while (response.status === 303)
      response = await go(new URL(response.headers.get('location') as string, issuer.url));
    assert.match(await response.text(), /Device connected/);
    const tokens = await oc.genericGrantRequest(config, DEVICE_CODE, { device_code: auth.device_code });
    assert.equal(claims(tokens).sub, 'heidi');
  });

  it('approves device codes at once with autoApproveDevice, and honours the TTL options', async () => {
    issuer = await startTestIssuer({
      autoApproveDevice: 'ivan',
      deviceInterval: 2,
      accessTokenTtl: 120,
      signingAlg: 'RS256',
    });
    const config = await register(issuer);
    const auth = await oc.initiateDeviceAuthorization(config, {
      scope: 'openid offline_access compute.read',
    });
    assert.equal(auth.interval, 2);
    const tokens = await oc.genericGrantRequest(config, DEVICE_CODE, { device_code: auth.device_code });
    const c = claims(tokens);
    assert.equal(c.sub, 'ivan');
    assert.equal((c.exp as number) - (c.iat as number), 120);
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'RS256');
  });

  it('takes pre-registered clients from the options', async () => {
    issuer = await startTestIssuer({
      clients: [
        {
          client_id: 'pre',
          client_secret: 'pre-secret-0123456789',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        },
      ],
    });
    const response = await fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuth('pre', 'pre-secret-0123456789'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(response.status, 200);
    assert.equal(decodeJwt(((await response.json()) as { access_token: string }).access_token).sub, 'pre');
  });
});

describe('test issuer: fault injection and close', () => {
  let issuer: TestIssuer;
  const robot = { authorization: basicAuth('robot', 'robot-secret-0123456789') };
  const tokenRequest = (signal?: AbortSignal) =>
    fetch(`${issuer.url}/token`, {
      method: 'POST',
      headers: { ...robot, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
      ...(signal ? { signal } : {}),
    });
  before(async () => {
    issuer = await startTestIssuer({
      clients: [
        {
          client_id: 'robot',
          client_secret: 'robot-secret-0123456789',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        },
      ],
    });
  });
  after(() => issuer.close());

  it("'error500' answers HTTP 500 at the token endpoint only", async () => {
    issuer.setFault('error500');
    const response = await tokenRequest();
    assert.equal(response.status, 500);
    assert.doesNotMatch(await response.text(), /access_token/);
    assert.equal((await fetch(`${issuer.url}/.well-known/openid-configuration`)).status, 200);
    assert.equal((await fetch(`${issuer.url}/jwks`)).status, 200);
  });

  it("'garbage' answers 200 with a body that is not JSON", async () => {
    issuer.setFault('garbage');
    const response = await tokenRequest();
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.throws(() => JSON.parse(text), SyntaxError);
  });

  it("'hang' never answers; 'none' restores the real endpoint", async () => {
    issuer.setFault('hang');
    await assert.rejects(tokenRequest(AbortSignal.timeout(300)), { name: 'TimeoutError' });
    issuer.setFault('none');
    const response = await tokenRequest();
    assert.equal(response.status, 200);
    const stats = issuer.stats();
    assert.equal(stats.faultedRequests, 3);
    assert.equal(stats.tokenRequests.client_credentials, 1, 'faulted requests never reach the provider');
    assert.throws(() => issuer.setFault('bogus' as 'none'), { code: 'USAGE' });
  });

  it('close() ends hung connections at once, is idempotent, and the port is closed afterwards', async () => {
    issuer.setFault('hang');
    const hung = tokenRequest();
    const outcome = hung.then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await Promise.all([issuer.close(), issuer.close()]);
    await issuer.close();
    assert.ok(Date.now() - started < 1000, 'close does not wait for the hung request');
    assert.equal(await outcome, 'dropped');
    await assert.rejects(fetch(`${issuer.url}/jwks`), { message: 'fetch failed' });
  });
});

describe('test issuer: refresh token expiry like Keycloak (refreshExpiresIn)', () => {
  const DAY = 24 * 3600;
  let issuers: TestIssuer[] = [];
  afterEach(async () => {
    await Promise.all(issuers.map((i) => i.close()));
    issuers = [];
  });
  async function start(options: TestIssuerOptions): Promise<TestIssuer> {
    const issuer = await startTestIssuer(options);
    issuers.push(issuer);
    return issuer;
  }

  it('says refresh_expires_in (the refresh token TTL) in every response with a refresh token', async () => {
    const issuer = await start({ refreshExpiresIn: true, refreshTokenTtl: 3 * DAY });
    const config = await register(issuer);
    const first = await deviceLogin(issuer, config, 'openid offline_access compute.read');
    const said = (t: Tokens) => t.refresh_expires_in as number;
    // Counted from the response: the TTL, or a second less when a second boundary was crossed.
    assert.ok(said(first) <= 3 * DAY && said(first) >= 3 * DAY - 2, String(said(first)));
    const second = await oc.refreshTokenGrant(config, first.refresh_token as string);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'rotated');
    assert.ok(said(second) <= 3 * DAY && said(second) >= 3 * DAY - 2, String(said(second)));
  });

  it('says nothing of it by default, as oidc-provider and INDIGO IAM do; refuses a non-boolean', async () => {
    const issuer = await start({ refreshTokenTtl: 3 * DAY });
    const config = await register(issuer);
    const first = await deviceLogin(issuer, config, 'openid offline_access compute.read');
    assert.ok(first.refresh_token);
    assert.equal(first.refresh_expires_in, undefined);
    const second = await oc.refreshTokenGrant(config, first.refresh_token as string);
    assert.equal(second.refresh_expires_in, undefined);
    await assert.rejects(startTestIssuer({ refreshExpiresIn: 'yes' as unknown as boolean }), {
      code: 'USAGE',
      message: /refreshExpiresIn/,
    });
  });
});
