import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { TokenwardenError } from '../../src/errors.js';
import {
  discoveryDocument,
  jwksDocument,
  type MintRequest,
  mintToken,
  type SigningKey,
  signingKeyFrom,
} from '../../src/signing/index.js';

const es = signingKeyFrom(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  'ES256',
  'local',
  'test',
);
const rs = signingKeyFrom(
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  'RS256',
  'rsa-1',
  'test',
);
const NOW = 1_800_000_000;

const base: MintRequest = {
  issuer: 'https://ap.example.org',
  subject: 'alice',
  scope: 'read:/user/alice write:/user/alice',
  audience: ['https://storage.example.org'],
  lifetimeSeconds: 1200,
  version: 'scitoken:2.0',
  nowSeconds: NOW,
};

/** Verifies the signature with the key's own public JWK and returns header and claims, in order. */
async function open(key: SigningKey, token: string) {
  const { payload, protectedHeader } = await compactVerify(token, await importJWK(key.publicJwk, key.alg));
  return {
    header: protectedHeader,
    claims: JSON.parse(Buffer.from(payload).toString()) as Record<string, unknown>,
  };
}

describe('mintToken', () => {
  it('a SciTokens 2.0 token has exactly the claims of a local credmon, in order, and verifies', async () => {
    const token = mintToken(es, base);
    const { header, claims } = await open(es, token);
    assert.deepEqual(header, { alg: 'ES256', kid: 'local', typ: 'JWT' });
    assert.deepEqual(Object.keys(claims), ['iss', 'sub', 'scope', 'aud', 'ver', 'iat', 'nbf', 'exp', 'jti']);
    assert.deepEqual(claims, {
      iss: 'https://ap.example.org',
      sub: 'alice',
      scope: 'read:/user/alice write:/user/alice',
      aud: ['https://storage.example.org'],
      ver: 'scitoken:2.0',
      iat: NOW,
      nbf: NOW,
      exp: NOW + 1200,
      jti: claims.jti,
    });
    assert.match(String(claims.jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // An ES256 signature is r || s, 64 bytes (RFC 7518 section 3.4), not DER.
    assert.equal(Buffer.from(token.split('.')[2] as string, 'base64url').length, 64);
  });

  it('wlcg and wlcg:1.0 give "wlcg.ver": "1.0" and no ver; other versions are ver as given; "" gives neither', async () => {
    for (const version of ['wlcg', 'wlcg:1.0']) {
      const { claims } = await open(es, mintToken(es, { ...base, version, scope: 'storage.read:/data' }));
      assert.equal(claims['wlcg.ver'], '1.0');
      assert.equal('ver' in claims, false);
      assert.deepEqual(Object.keys(claims), [
        'iss',
        'sub',
        'scope',
        'aud',
        'wlcg.ver',
        'iat',
        'nbf',
        'exp',
        'jti',
      ]);
    }
    assert.equal(
      (await open(es, mintToken(es, { ...base, version: 'scitoken:1.0' }))).claims.ver,
      'scitoken:1.0',
    );
    const none = (await open(es, mintToken(es, { ...base, version: '', audience: [] }))).claims;
    assert.deepEqual(
      Object.keys(none),
      ['iss', 'sub', 'scope', 'iat', 'nbf', 'exp', 'jti'],
      'no aud when empty, no version',
    );
  });

  it('aud is always a JSON array, even of one', async () => {
    const two = (
      await open(es, mintToken(es, { ...base, audience: ['https://a.example', 'https://b.example'] }))
    ).claims;
    assert.deepEqual(two.aud, ['https://a.example', 'https://b.example']);
  });

  it('signs RS256 with the RSA key, and takes the jti and extra claims given', async () => {
    const token = mintToken(rs, { ...base, jti: 'fixed-id', extraClaims: { 'wlcg.groups': ['/vo'] } });
    const { header, claims } = await open(rs, token);
    assert.deepEqual(header, { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' });
    assert.equal(claims.jti, 'fixed-id');
    assert.deepEqual(claims['wlcg.groups'], ['/vo']);
    assert.deepEqual(decodeProtectedHeader(token).kid, 'rsa-1');
  });

  it('every token has its own jti', () => {
    const jtis = new Set(
      Array.from(
        { length: 200 },
        () =>
          JSON.parse(Buffer.from(mintToken(es, base).split('.')[1] as string, 'base64url').toString()).jti,
      ),
    );
    assert.equal(jtis.size, 200);
  });

  it('refuses what would make a bad token, with the reason', () => {
    const cases: [Partial<MintRequest>, RegExp][] = [
      [{ audience: [] }, /aud missing: a scitoken:2\.0 token must name its audience/],
      [{ issuer: '' }, /the issuer \(iss\) is empty/],
      [{ subject: '' }, /the subject \(sub\) is empty/],
      [{ lifetimeSeconds: 0 }, /the lifetime must be a whole number of seconds from 1 to/],
      [{ lifetimeSeconds: 1.5 }, /the lifetime must be/],
      [{ nowSeconds: Number.NaN }, /the time \(iat\) is not a positive whole number/],
      [{ audience: ['two words'] }, /an audience is empty or contains blanks/],
      [{ extraClaims: { exp: 1 } }, /extra claim "exp" would replace a claim the issuer sets/],
      [{ extraClaims: { 'wlcg.ver': '2' } }, /extra claim "wlcg\.ver" would replace/],
    ];
    for (const [change, message] of cases) {
      assert.throws(
        () => mintToken(es, { ...base, ...change }),
        (err: unknown) =>
          err instanceof TokenwardenError && err.code === 'USAGE' && message.test(err.message),
        String(message),
      );
    }
  });
});

describe('jwksDocument and discoveryDocument', () => {
  it('publish the public keys with kid, alg and use, and the jwks_uri HTCondor’s web app serves', () => {
    const jwks = jwksDocument([es, rs]);
    assert.deepEqual(
      jwks.keys.map((k) => [k.kid, k.kty, k.alg, k.use, 'd' in k]),
      [
        ['local', 'EC', 'ES256', 'sig', false],
        ['rsa-1', 'RSA', 'RS256', 'sig', false],
      ],
    );
    assert.deepEqual(discoveryDocument('https://ap.example.org'), {
      issuer: 'https://ap.example.org',
      jwks_uri: 'https://ap.example.org/.well-known/jwks-uri',
    });
    assert.deepEqual(
      discoveryDocument('https://ap.example.org/local', { jwksUri: 'https://keys.example.org/k' }),
      {
        issuer: 'https://ap.example.org/local',
        jwks_uri: 'https://keys.example.org/k',
      },
    );
  });
});
