import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OAuthError, TokenwardenError } from '../../src/errors.js';
import { parseRetryAfter, translateError } from '../../src/oidc/errors.js';
import { createClient, refreshTokenGrant, registerClient } from '../../src/oidc/index.js';
import { Secret } from '../../src/secret.js';
import { RETRY_AFTER_SECONDS, startTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { isRetryable } from '../../src/tokens/schedule.js';

const ctx = { timeoutSeconds: 5 };

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });
  it('reads an HTTP-date, from now', () => {
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now), 90);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  });
  it('ignores what it cannot read, and caps what it can at a day', () => {
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter('1.5', now), undefined);
    assert.equal(parseRetryAfter('999999999', now), 86_400);
  });
});

describe('translateError keeps the HTTP status and Retry-After', () => {
  let issuer: TestIssuer;
  let client: Awaited<ReturnType<typeof createClient>>;
  before(async () => {
    issuer = await startTestIssuer();
    const reg = await registerClient(
      issuer.url,
      { clientName: 't', scope: ['openid', 'offline_access'], grantTypes: ['refresh_token'] },
      ctx,
    );
    client = await createClient(
      {
        issuer: issuer.url,
        clientId: reg.clientId,
        clientSecret: reg.clientSecret,
        authMethod: reg.authMethod,
      },
      ctx,
    );
  });
  after(async () => issuer.close());

  async function refreshError(): Promise<TokenwardenError> {
    try {
      await refreshTokenGrant(client, new Secret('not-a-real-refresh-token'), {}, ctx);
    } catch (err) {
      assert.ok(err instanceof TokenwardenError);
      return err;
    }
    throw new Error('the refresh did not fail');
  }

  it('429 with Retry-After in seconds', async () => {
    issuer.setFault('rate-limited');
    const err = await refreshError();
    issuer.setFault('none');
    assert.equal(err.code, 'ISSUER_RESPONSE');
    assert.equal(err.httpStatus, 429);
    assert.equal(err.retryAfterSeconds, RETRY_AFTER_SECONDS);
    assert.match(err.message, /HTTP 429.*retry after 7s/);
    assert.equal(isRetryable(err), true);
  });

  it('503 with Retry-After as an HTTP-date', async () => {
    issuer.setFault('unavailable');
    const err = await refreshError();
    issuer.setFault('none');
    assert.equal(err.httpStatus, 503);
    assert.ok(
      err.retryAfterSeconds !== undefined &&
        err.retryAfterSeconds >= RETRY_AFTER_SECONDS &&
        err.retryAfterSeconds <= RETRY_AFTER_SECONDS + 2,
      String(err.retryAfterSeconds),
    );
    assert.equal(isRetryable(err), true);
  });

  it('500 without Retry-After', async () => {
    issuer.setFault('error500');
    const err = await refreshError();
    issuer.setFault('none');
    assert.equal(err.httpStatus, 500);
    assert.equal(err.retryAfterSeconds, undefined);
    assert.equal(isRetryable(err), true);
  });

  it('an OAuth error answer keeps its status and is not retried', async () => {
    const err = await refreshError();
    assert.ok(err instanceof OAuthError);
    assert.equal(err.error, 'invalid_grant');
    assert.equal(err.httpStatus, 400);
    assert.equal(isRetryable(err), false);
  });

  it('a message cleaned of a secret keeps the status and Retry-After', () => {
    const original = new TokenwardenError('ISSUER_RESPONSE', 'echoed s3cr3t-value', {
      httpStatus: 503,
      retryAfterSeconds: 9,
    });
    const cleaned = translateError(original, 'refresh', undefined, ['s3cr3t-value']);
    assert.doesNotMatch(cleaned.message, /s3cr3t-value/);
    assert.equal(cleaned.httpStatus, 503);
    assert.equal(cleaned.retryAfterSeconds, 9);
  });
});
