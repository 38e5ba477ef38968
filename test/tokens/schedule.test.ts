import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError, TokenwardenError } from '../../src/errors.js';
import { backoff, isRetryable, nextRenewalAt } from '../../src/tokens/schedule.js';

const zero = () => 0;
const one = () => 1;
const half = () => 0.5;

describe('nextRenewalAt', () => {
  const policy = { minLifetime: 60, fraction: 0.5, jitter: 0 };
  it('renews min_lifetime before exp when that is later than the fraction of the lifetime', () => {
    // A one-hour token: exp - 60 (4540) is later than iat + half its life (2800).
    assert.equal(nextRenewalAt({ iat: 1000, exp: 4600 }, policy, zero), 4540);
  });
  it('renews at the fraction of the lifetime when min_lifetime is close to the whole lifetime', () => {
    // A 100 s token with min_lifetime 90: exp - 90 = 1010 would renew it almost at once.
    assert.equal(nextRenewalAt({ iat: 1000, exp: 1100 }, { ...policy, minLifetime: 90 }, zero), 1050);
    // min_lifetime above the lifetime: still half-way, never in the past of the token.
    assert.equal(nextRenewalAt({ iat: 1000, exp: 1100 }, { ...policy, minLifetime: 500 }, zero), 1050);
  });
  it('uses min_lifetime alone without iat', () => {
    assert.equal(nextRenewalAt({ exp: 5000 }, policy, zero), 4940);
  });
  it('takes a random jitter in [0, jitter] off, never going before iat', () => {
    const p = { minLifetime: 60, fraction: 0.5, jitter: 100 };
    assert.equal(nextRenewalAt({ iat: 1000, exp: 4600 }, p, zero), 4540);
    assert.equal(nextRenewalAt({ iat: 1000, exp: 4600 }, p, one), 4440);
    assert.equal(nextRenewalAt({ iat: 1000, exp: 4600 }, p, half), 4490);
    // A jitter longer than the token's life stops at iat.
    assert.equal(nextRenewalAt({ iat: 1000, exp: 1010 }, { ...p, jitter: 1000 }, one), 1000);
  });
  it('keeps a misbehaving random source inside [0, 1]', () => {
    const p = { minLifetime: 60, fraction: 0.5, jitter: 100 };
    assert.equal(
      nextRenewalAt({ iat: 1000, exp: 4600 }, p, () => 7),
      4440,
    );
    assert.equal(
      nextRenewalAt({ iat: 1000, exp: 4600 }, p, () => -3),
      4540,
    );
    assert.equal(
      nextRenewalAt({ iat: 1000, exp: 4600 }, p, () => Number.NaN),
      4540,
    );
  });
  it('spreads tokens issued together', () => {
    let seed = 1;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const times = Array.from({ length: 200 }, () =>
      nextRenewalAt({ iat: 0, exp: 3600 }, { minLifetime: 60, fraction: 0.5, jitter: 300 }, rand),
    );
    const min = Math.min(...times);
    const max = Math.max(...times);
    assert.ok(min >= 3540 - 300 && max <= 3540);
    assert.ok(max - min > 250, `spread ${max - min}`);
  });
});

describe('backoff', () => {
  const opts = { baseSeconds: 5, capSeconds: 300 };
  it('grows exponentially up to the cap (full jitter at its top)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 10_000].map((n) => backoff(n, opts, one));
    assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300, 300, 300]);
  });
  it('full jitter picks uniformly below the exponential bound', () => {
    assert.equal(backoff(4, opts, zero), 0);
    assert.equal(backoff(4, opts, half), 20);
  });
  it('never retries sooner than Retry-After, even above the cap, and spreads the clients after it', () => {
    assert.equal(backoff(1, { ...opts, retryAfterSeconds: 30 }, zero), 30);
    assert.equal(backoff(1, { ...opts, retryAfterSeconds: 3600 }, one), 3605);
    assert.equal(backoff(3, { ...opts, retryAfterSeconds: 120 }, half), 130);
    // A shorter Retry-After does not shorten the backoff.
    assert.equal(backoff(5, { ...opts, retryAfterSeconds: 2 }, one), 80);
  });
  it('decorrelated jitter stays in [base, 3 x previous], capped', () => {
    const d = { ...opts, mode: 'decorrelated' as const };
    assert.equal(backoff(1, d, zero), 5);
    assert.equal(backoff(2, { ...d, previousSeconds: 10 }, one), 30);
    assert.equal(backoff(3, { ...d, previousSeconds: 200 }, one), 300);
    assert.equal(backoff(3, { ...d, previousSeconds: 200, retryAfterSeconds: 400 }, zero), 405);
  });
  it('spreads many clients that failed together', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const delays = Array.from({ length: 100 }, () => backoff(6, opts, rand));
    const buckets = new Set(delays.map((x) => Math.floor(x / 16)));
    assert.ok(buckets.size >= 8, `only ${buckets.size} distinct 16 s buckets`);
  });
});

describe('isRetryable', () => {
  const http = (status: number) =>
    new TokenwardenError('ISSUER_RESPONSE', `HTTP ${status}`, { httpStatus: status });
  it('retries timeouts, network failures, 408, 429 and 5xx', () => {
    assert.equal(isRetryable(new TokenwardenError('TIMEOUT', 'no answer')), true);
    assert.equal(isRetryable(new TokenwardenError('NETWORK', 'ECONNREFUSED')), true);
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryable(http(s)), true, String(s));
    assert.equal(isRetryable(new OAuthError('server_error', undefined, 400)), true);
    assert.equal(isRetryable(new OAuthError('temporarily_unavailable', undefined, 400)), true);
    assert.equal(isRetryable(new OAuthError('invalid_request', undefined, 503)), true);
  });
  it('does not retry answers about the credential, nor configuration mistakes', () => {
    assert.equal(isRetryable(new OAuthError('invalid_grant', 'revoked', 400)), false);
    assert.equal(isRetryable(new OAuthError('invalid_client', undefined, 401)), false);
    assert.equal(isRetryable(new OAuthError('invalid_scope', undefined, 400)), false);
    for (const code of [
      'CONFIG_INVALID',
      'PASSWORD_FILE',
      'STORE_NOT_FOUND',
      'STORE_DECRYPT_FAILED',
      'FILE_UNSAFE',
    ] as const) {
      assert.equal(isRetryable(new TokenwardenError(code, 'x')), false, code);
    }
    assert.equal(isRetryable(new Error('bug')), false);
    assert.equal(isRetryable(undefined), false);
  });
});
