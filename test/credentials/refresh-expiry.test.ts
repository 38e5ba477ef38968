import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combineRefreshTokenNews,
  MAX_DECODED_REFRESH_TOKEN_LENGTH,
  MAX_REFRESH_TOKEN_LIFETIME_SECONDS,
  nextRefreshTokenExpiresAt,
  type RefreshTokenNews,
  refreshTokenExpiry,
} from '../../src/credentials/index.js';

const NOW = 1_800_000_000;
const DAY = 24 * 3600;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** A JWT-shaped refresh token (Keycloak's are HS256 or HS512), unsigned for the purpose. */
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(claims)}.c2ln`;
const OPAQUE = 'rt-0123456789abcdefghijklmnopqrstuvwxyz';

describe('refreshTokenExpiry', () => {
  it("takes refresh_expires_in, counted from the response's time", () => {
    assert.deepEqual(refreshTokenExpiry(3 * DAY, OPAQUE, NOW), {
      expiresAt: NOW + 3 * DAY,
      source: 'response',
    });
    assert.deepEqual(refreshTokenExpiry(1800.7, OPAQUE, NOW + 0.5), {
      expiresAt: NOW + 1801,
      source: 'response',
    });
  });

  it('prefers refresh_expires_in to the JWT exp (the issuer says it of this response)', () => {
    assert.deepEqual(refreshTokenExpiry(60, jwt({ exp: NOW + 9 * DAY }), NOW), {
      expiresAt: NOW + 60,
      source: 'response',
    });
  });

  it("takes refresh_expires_in 0 as Keycloak's offline token that does not expire", () => {
    assert.deepEqual(refreshTokenExpiry(0, jwt({ exp: NOW + DAY }), NOW), {
      expiresAt: undefined,
      source: 'response',
    });
  });

  it('ignores a refresh_expires_in that is not a usable number, and falls back to the JWT exp', () => {
    const token = jwt({ exp: NOW + 5 * DAY, typ: 'Refresh' });
    for (const bad of [
      '3600',
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      MAX_REFRESH_TOKEN_LIFETIME_SECONDS + 1,
      null,
      true,
      { s: 1 },
      undefined,
    ]) {
      assert.deepEqual(
        refreshTokenExpiry(bad, token, NOW),
        { expiresAt: NOW + 5 * DAY, source: 'jwt' },
        String(bad),
      );
      assert.deepEqual(
        refreshTokenExpiry(bad, OPAQUE, NOW),
        { expiresAt: undefined, source: 'none' },
        String(bad),
      );
    }
  });

  it("takes a JWT refresh token's exp (INDIGO IAM, Keycloak), decoded without verification", () => {
    assert.deepEqual(refreshTokenExpiry(undefined, jwt({ exp: NOW + 30 * DAY, jti: 'x' }), NOW), {
      expiresAt: NOW + 30 * DAY,
      source: 'jwt',
    });
    // Already past: still the issuer's word (the warning says it expired).
    assert.deepEqual(refreshTokenExpiry(undefined, jwt({ exp: NOW - 10 }), NOW), {
      expiresAt: NOW - 10,
      source: 'jwt',
    });
  });

  it('finds nothing in a JWT without a usable exp', () => {
    const none = { expiresAt: undefined, source: 'none' };
    for (const claims of [
      {},
      { exp: 0 },
      { exp: '1800000000' },
      { exp: NOW + MAX_REFRESH_TOKEN_LIFETIME_SECONDS + 1 },
      { exp: 1e300 },
      { exp: -5 },
    ]) {
      assert.deepEqual(refreshTokenExpiry(undefined, jwt(claims), NOW), none, JSON.stringify(claims));
    }
  });

  it('takes anything that is not a JWT as opaque, and never decodes an oversized token', () => {
    const none = { expiresAt: undefined, source: 'none' };
    for (const token of [
      '',
      OPAQUE,
      'a.b',
      'a.b.c.d',
      'not.a.jwt',
      `${b64({ alg: 'none' })}.${Buffer.from('[1,2]').toString('base64url')}.x`,
      `${b64({ alg: 'none' })}.%%%.x`,
    ]) {
      assert.deepEqual(refreshTokenExpiry(undefined, token, NOW), none, token);
    }
    const padded = jwt({ exp: NOW + DAY, pad: 'p'.repeat(MAX_DECODED_REFRESH_TOKEN_LENGTH) });
    assert.ok(padded.length > MAX_DECODED_REFRESH_TOKEN_LENGTH);
    assert.deepEqual(refreshTokenExpiry(undefined, padded, NOW), none);
    // Just under the bound it is decoded.
    const fits = jwt({ exp: NOW + DAY, pad: 'p'.repeat(MAX_DECODED_REFRESH_TOKEN_LENGTH / 2) });
    assert.equal(refreshTokenExpiry(undefined, fits, NOW).expiresAt, NOW + DAY);
    // A multi-megabyte string returns at once, without being split or parsed.
    const huge = `${'x'.repeat(8 * 1024 * 1024)}.y.z`;
    assert.deepEqual(refreshTokenExpiry(undefined, huge, NOW), none);
  });
});

describe('what is known of the refresh token after a refresh', () => {
  const news = (n: Partial<RefreshTokenNews>): RefreshTokenNews => ({
    expiresAt: undefined,
    source: 'none',
    rotated: false,
    ...n,
  });

  it('takes what the grant said, whether the token was rotated or not', () => {
    assert.equal(
      nextRefreshTokenExpiresAt(NOW, news({ expiresAt: NOW + DAY, source: 'response' })),
      NOW + DAY,
    );
    assert.equal(
      nextRefreshTokenExpiresAt(NOW, news({ expiresAt: NOW + DAY, source: 'jwt', rotated: true })),
      NOW + DAY,
    );
    // Keycloak's refresh_expires_in 0: it says the token does not expire.
    assert.equal(nextRefreshTokenExpiresAt(NOW, news({ source: 'response' })), undefined);
  });

  it('keeps what was known only while the same opaque token is kept', () => {
    assert.equal(nextRefreshTokenExpiresAt(NOW, news({})), NOW);
    assert.equal(nextRefreshTokenExpiresAt(undefined, news({})), undefined);
    assert.equal(nextRefreshTokenExpiresAt(NOW, news({ rotated: true })), undefined);
  });

  it('combines the grants of one session as applying them in turn would', () => {
    const said = news({ expiresAt: NOW + DAY, source: 'response', rotated: true });
    const silent = news({});
    const rotatedSilent = news({ rotated: true });
    const laterSaid = news({ expiresAt: NOW + 2 * DAY, source: 'jwt' });
    const cases: Array<[RefreshTokenNews, RefreshTokenNews]> = [
      [said, silent],
      [said, rotatedSilent],
      [silent, said],
      [silent, silent],
      [rotatedSilent, silent],
      [silent, rotatedSilent],
      [said, laterSaid],
      [news({ expiresAt: NOW + DAY, source: 'jwt' }), rotatedSilent],
    ];
    for (const known of [undefined, NOW + 5 * DAY]) {
      for (const [a, b] of cases) {
        const inTurn = nextRefreshTokenExpiresAt(nextRefreshTokenExpiresAt(known, a), b);
        assert.equal(
          nextRefreshTokenExpiresAt(known, combineRefreshTokenNews(a, b)),
          inTurn,
          `${JSON.stringify(a)} then ${JSON.stringify(b)} from ${known}`,
        );
      }
    }
    assert.equal(combineRefreshTokenNews(undefined, said), said);
  });
});
