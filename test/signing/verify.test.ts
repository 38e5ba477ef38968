import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createIssuerServer, type IssuerServer } from '../../src/issuer/index.js';
import {
  createJwksCache,
  type MintRequest,
  mintToken,
  type SigningKey,
  signingKeyFrom,
  type VerifyOptions,
  verifyToken,
} from '../../src/signing/index.js';
import { createWebServer, type WebServer } from '../../src/web/index.js';

const key = signingKeyFrom(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256', 'k1', 't');
/** Another key published under the same kid elsewhere: its signatures must not pass for `key`'s. */
const impostor = signingKeyFrom(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  'ES256',
  'k1',
  't',
);
const rotated = signingKeyFrom(
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  'RS256',
  'k2',
  't',
);

describe('verifyToken against a running local issuer', () => {
  let server: IssuerServer;
  let issuer: string;
  let now: number;
  let fetches: string[];
  let opts: () => VerifyOptions;

  before(async () => {
    server = createIssuerServer({ keys: [key, rotated], port: 0 });
    issuer = (await server.listen()).href.replace(/\/$/, '');
    now = Math.floor(Date.now() / 1000);
    fetches = [];
    const countingFetch: typeof fetch = (input, init) => {
      fetches.push(String(input));
      return fetch(input, init);
    };
    opts = () => ({
      fetch: countingFetch,
      cache: createJwksCache(),
      clock: () => now * 1000,
      timeoutMs: 5000,
    });
  });
  after(async () => {
    await server.close();
  });

  const request = (over: Partial<MintRequest> = {}): MintRequest => ({
    issuer,
    subject: 'alice',
    scope: 'read:/user/alice',
    audience: ['https://storage.example.org'],
    lifetimeSeconds: 1200,
    version: 'scitoken:2.0',
    nowSeconds: now,
    ...over,
  });

  /** A token with any claims and header, signed by `signer` (to break one rule at a time). */
  const craft = (
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
    signer: SigningKey = key,
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT', ...header })
      .sign(signer.privateKey);

  const rules = (r: { failures: { rule: string }[] }) => r.failures.map((f) => f.rule);

  it('passes a SciTokens token and a WLCG token minted by the issuer, with both keys (rotation)', async () => {
    const sci = await verifyToken(mintToken(key, request()), opts());
    assert.deepEqual(sci, { valid: true, profile: 'scitoken:2.0', failures: [] });
    const wlcg = await verifyToken(
      mintToken(rotated, request({ version: 'wlcg', scope: 'storage.read:/data compute.read openid' })),
      opts(),
    );
    assert.deepEqual(wlcg, { valid: true, profile: 'wlcg:1.0', failures: [] });
  });

  it('fails a token signed by another key under the same kid: rule signature', async () => {
    const r = await verifyToken(mintToken(impostor, request()), opts());
    assert.equal(r.valid, false);
    assert.deepEqual(r.failures, [
      {
        rule: 'signature',
        message: `signature invalid: the token was not signed by the key k1 that ${issuer} publishes`,
      },
    ]);
  });

  it('names each broken rule: kid, exp, aud, sub, nbf, scope, jti, wlcg.ver, wlcg.groups, alg', async () => {
    const claims = {
      iss: issuer,
      sub: 'alice',
      scope: 'read:/x',
      aud: ['a'],
      ver: 'scitoken:2.0',
      iat: now,
      nbf: now,
      exp: now + 600,
    };
    const noKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .sign(key.privateKey);
    const cases: [string, string, string][] = [
      [noKid, 'kid', 'kid missing: the header must name the issuer key that signed the token'],
      [
        await craft({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
        'exp',
        'expired 60 min ago',
      ],
      [
        await craft({ ...claims, aud: undefined }),
        'aud',
        'aud missing: a scitoken:2.0 token must name its audience',
      ],
      [
        await craft({ ...claims, sub: undefined }),
        'sub',
        'sub missing: a scitoken:2.0 token must name its subject',
      ],
      [await craft({ ...claims, nbf: now + 3600 }), 'nbf', 'not valid before'],
      [
        await craft({ ...claims, nbf: undefined }),
        'nbf',
        'nbf missing: scitokens-cpp (XRootD, HTCondor) refuses a token without it',
      ],
      [await craft({ ...claims, scope: 'read:data' }), 'scope', 'the path must be absolute'],
      [await craft({ ...claims, scope: 'fly:/x' }), 'scope', '"fly" is not a SciTokens authorization'],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': '1.0', jti: 'j', scope: 'storage.write:/x' }),
        'scope',
        'is not storage.read|create|modify|stage|poll:/PATH',
      ],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': '1.0', jti: 'j', scope: 'storage.read' }),
        'scope',
        'the profile wants a path on every storage scope',
      ],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': '1.0', scope: 'storage.read:/x' }),
        'jti',
        'jti missing',
      ],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': '2.0', jti: 'j' }),
        'wlcg.ver',
        'wlcg.ver "2.0" is a WLCG major version this does not know',
      ],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': '1', jti: 'j' }),
        'wlcg.ver',
        'wlcg.ver "1" is not a WLCG profile version: the profile wants MAJOR.MINOR',
      ],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': 1.0, jti: 'j' }),
        'wlcg.ver',
        'wlcg.ver 1 is not a WLCG profile version',
      ],
      [
        await craft({ ...claims, ver: undefined, 'wlcg.ver': '1.0', jti: 'j', 'wlcg.groups': '/vo' }),
        'wlcg.groups',
        'wlcg.groups is not a list of group names',
      ],
      [
        await craft({
          ...claims,
          ver: undefined,
          'wlcg.ver': '1.0',
          jti: 'j',
          'wlcg.groups': ['/vo', 'vo/prod'],
        }),
        'wlcg.groups',
        'wlcg.groups "vo/prod" is not a group name',
      ],
      [
        await craft(claims, { kid: 'k2' }),
        'alg',
        "the token says alg ES256 but the issuer's key k2 is for RS256",
      ],
      [await craft(claims, { kid: 'nope' }), 'jwks', `the issuer ${issuer} publishes no key with kid "nope"`],
    ];
    for (const [token, rule, message] of cases) {
      const r = await verifyToken(token, opts());
      assert.equal(r.valid, false, rule);
      assert.deepEqual(rules(r), [rule], `${rule}: ${JSON.stringify(r.failures)}`);
      assert.ok(r.failures[0]?.message.includes(message), `${rule}: ${r.failures[0]?.message}`);
    }
  });

  it('passes a WLCG token lacking only what the profile recommends; fails what scitokens-cpp refuses', async () => {
    // Each case broke a rule written from memory that the profile (1.3) does not have.
    const wlcg = {
      iss: issuer,
      sub: 'alice',
      aud: 'https://storage.example.org',
      'wlcg.ver': '1.0',
      scope: 'storage.read:/data',
      iat: now,
      nbf: now,
      exp: now + 1200,
      jti: 'j',
    };
    const cases: [string, Record<string, unknown>][] = [
      ['lifetime over 6 hours (a default maximum, section 4.3.1)', { exp: now + 7 * 3600 }],
      ['neither scope nor wlcg.groups (a SHOULD, section 2.1.3)', { scope: undefined }],
      ['wlcg.groups without scope', { scope: undefined, 'wlcg.groups': ['/vo', '/vo/prod-1.x'] }],
      ['storage.poll (since 1.2, section 2.2.1)', { scope: 'storage.poll:/tape storage.stage:/tape' }],
    ];
    for (const [what, over] of cases) {
      const r = await verifyToken(await craft({ ...wlcg, ...over }), opts());
      assert.deepEqual(r, { valid: true, profile: 'wlcg:1.0', failures: [] }, what);
    }
    // Where the profile is more lenient than scitokens-cpp (Debian's 0.7, in XRootD), the storage wins:
    // no nbf (optional in section 2.1.1) and a newer minor version (section 4.3.3) still fail.
    const noNbf = await verifyToken(await craft({ ...wlcg, nbf: undefined }), opts());
    assert.deepEqual(rules(noNbf), ['nbf']);
    const newer = await verifyToken(await craft({ ...wlcg, 'wlcg.ver': '1.2' }), opts());
    assert.deepEqual(rules(newer), ['wlcg.ver']);
    assert.match(
      newer.failures[0]?.message ?? '',
      /the profile allows a newer 1\.x, but scitokens-cpp \(XRootD, HTCondor\) refuses anything but "1\.0"/,
    );
  });

  it('checks the audience a caller expects, and takes the WLCG any-audience', async () => {
    const r = await verifyToken(mintToken(key, request()), { ...opts(), audience: 'https://other.example' });
    assert.deepEqual(rules(r), ['aud']);
    const any = mintToken(
      key,
      request({ version: 'wlcg', scope: 'storage.read:/', audience: ['https://wlcg.cern.ch/jwt/v1/any'] }),
    );
    assert.equal((await verifyToken(any, { ...opts(), audience: 'https://other.example' })).valid, true);
  });

  it('refuses a plain-http issuer that is not loopback without fetching anything, and a forged alg', async () => {
    fetches.length = 0;
    const r = await verifyToken(mintToken(key, request({ issuer: 'http://issuer.example.org' })), opts());
    assert.deepEqual(rules(r), ['discovery']);
    assert.match(r.failures[0]?.message ?? '', /is not https: keys are fetched over https only/);
    assert.deepEqual(fetches, []);
    const none = `${Buffer.from('{"alg":"none","kid":"k1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer })).toString('base64url')}.`;
    assert.ok(rules(await verifyToken(none, opts())).includes('alg'));
    const garbage = await verifyToken('not a token', opts());
    assert.deepEqual(rules(garbage), ['format']);
  });

  it('caches keys per issuer; an unknown kid refetches at most once a minute', async () => {
    const o = opts();
    fetches.length = 0;
    const token = mintToken(key, request());
    await verifyToken(token, o);
    assert.equal(fetches.length, 2, 'discovery, then the JWKS');
    await verifyToken(token, o);
    assert.equal(fetches.length, 2, 'the second token is checked with the cached keys');
    const unknown = await craft({ iss: issuer }, { kid: 'unknown-1' });
    await verifyToken(unknown, o);
    assert.equal(fetches.length, 2, 'within a minute of the last fetch, an unknown kid fetches nothing');
    now += 61;
    await verifyToken(await craft({ iss: issuer }, { kid: 'unknown-2' }), o);
    assert.equal(fetches.length, 4, 'after a minute, an unknown kid fetches the keys again');
    await verifyToken(await craft({ iss: issuer }, { kid: 'unknown-3' }), o);
    assert.equal(fetches.length, 4);
    now += 11 * 60;
    await verifyToken(mintToken(key, request()), o);
    assert.equal(fetches.length, 6, 'keys older than 10 minutes are fetched again when used');
  });
});

describe('verifyToken against a misbehaving issuer', () => {
  let web: WebServer;
  let base: string;
  let lying: string;
  before(async () => {
    web = createWebServer({ port: 0 });
    web.app.get('/big/.well-known/openid-configuration', async () => ({
      issuer: `${base}/big`,
      jwks_uri: `${base}/big/jwks`,
    }));
    web.app.get('/big/jwks', async (_q, reply) =>
      reply.type('application/json').send(`{"keys":[${' '.repeat(300 * 1024)}]}`),
    );
    web.app.get('/liar/.well-known/openid-configuration', async () => ({
      issuer: 'https://someone-else.example',
      jwks_uri: `${base}/x`,
    }));
    web.app.get('/slow/.well-known/openid-configuration', async (request) => {
      await new Promise((resolve) => request.raw.socket.once('close', resolve));
      return {};
    });
    base = (await web.listen()).href.replace(/\/$/, '');
    lying = `${base}/liar`;
  });
  after(async () => {
    await web.close();
  });

  const tokenFor = (iss: string) =>
    mintToken(key, {
      issuer: iss,
      subject: 's',
      scope: 'read:/',
      audience: ['a'],
      lifetimeSeconds: 60,
      version: 'scitoken:2.0',
      nowSeconds: Math.floor(Date.now() / 1000),
    });

  it('refuses an oversized JWKS, a discovery document naming another issuer, and a hung issuer by its deadline', async () => {
    const big = await verifyToken(tokenFor(`${base}/big`), { cache: createJwksCache() });
    assert.deepEqual(
      big.failures.map((f) => f.rule),
      ['jwks'],
    );
    assert.match(big.failures[0]?.message ?? '', /larger than 262144 bytes/);
    const liar = await verifyToken(tokenFor(lying), { cache: createJwksCache() });
    assert.deepEqual(
      liar.failures.map((f) => f.rule),
      ['discovery'],
    );
    assert.match(
      liar.failures[0]?.message ?? '',
      /names issuer "https:\/\/someone-else\.example", not the token's/,
    );
    const slow = await verifyToken(tokenFor(`${base}/slow`), { cache: createJwksCache(), timeoutMs: 300 });
    assert.deepEqual(
      slow.failures.map((f) => f.rule),
      ['discovery'],
    );
    assert.match(slow.failures[0]?.message ?? '', /no answer within 300 ms/);
  });
});

describe('the key cache when the issuer goes away', () => {
  it('keeps verifying with known keys for up to 4 days, then says the keys cannot be fetched', async () => {
    const server = createIssuerServer({ keys: [key], port: 0 });
    const issuer = (await server.listen()).href.replace(/\/$/, '');
    let now = Math.floor(Date.now() / 1000);
    const cache = createJwksCache({ maxIssuers: 1 });
    const opts = () => ({ cache, clock: () => now * 1000, timeoutMs: 2000 });
    const token = () =>
      mintToken(key, {
        issuer,
        subject: 's',
        scope: 'read:/',
        audience: ['a'],
        lifetimeSeconds: 600,
        version: 'scitoken:2.0',
        nowSeconds: now,
      });
    assert.equal((await verifyToken(token(), opts())).valid, true);
    await server.close();
    now += 11 * 60;
    const stale = await verifyToken(token(), opts());
    assert.deepEqual(
      stale,
      { valid: true, profile: 'scitoken:2.0', failures: [] },
      'stale keys serve while the issuer is down',
    );
    now += 4 * 86400;
    const gone = await verifyToken(token(), opts());
    assert.deepEqual(
      gone.failures.map((f) => f.rule),
      ['discovery'],
    );
    assert.match(
      gone.failures[0]?.message ?? '',
      /GET http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration failed/,
    );
    // One issuer at most in this cache: verifying another issuer's token drops the first.
    await verifyToken(
      mintToken(key, {
        issuer: 'http://127.0.0.1:1',
        subject: 's',
        scope: '',
        audience: ['a'],
        lifetimeSeconds: 60,
        version: 'scitoken:2.0',
        nowSeconds: now,
      }),
      { ...opts(), timeoutMs: 500 },
    );
    assert.equal(cache.size, 1);
  });
});
