import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeToken, formatDuration, secondsLeft, totalLifetime } from '../../src/tokens/index.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: unknown) => `${b64({ alg: 'ES256', kid: 'k1' })}.${b64(claims)}.c2ln`;

describe('decodeToken', () => {
  it('reads claims, audience and scope', () => {
    const d = decodeToken(`${jwt({ iss: 'https://i', aud: ['a', 'b'], scope: 'x y', exp: 100, iat: 40 })}\n`);
    assert.deepEqual(d.audience, ['a', 'b']);
    assert.deepEqual(d.scope, ['x', 'y']);
    assert.equal(d.header.kid, 'k1');
    assert.equal(secondsLeft(d.claims, 70), 30);
    assert.equal(totalLifetime(d.claims), 60);
  });

  it('accepts a single audience string and scp arrays', () => {
    const d = decodeToken(jwt({ aud: 'one', scp: ['s1'] }));
    assert.deepEqual(d.audience, ['one']);
    assert.deepEqual(d.scope, ['s1']);
  });

  it('rejects garbage without echoing it', () => {
    const garbage = 'secret-looking-garbage-value';
    assert.throws(
      () => decodeToken(garbage),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TOKEN_INVALID');
        assert.ok(!err.message.includes(garbage));
        return true;
      },
    );
  });
});

describe('formatDuration', () => {
  it('prints human durations', () => {
    assert.equal(formatDuration(42), '42s');
    assert.equal(formatDuration(250), '4m 10s');
    assert.equal(formatDuration(3900), '1h 05m');
    assert.equal(formatDuration(90000), '1d 01h');
    assert.equal(formatDuration(-180), 'expired 3m 00s ago');
  });
});
