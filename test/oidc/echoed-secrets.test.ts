import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { OAuthError } from '../../src/errors.js';
import {
  type ClientAuthMethod,
  clientCredentialsGrant,
  createClient,
  refreshTokenGrant,
  tokenExchangeGrant,
} from '../../src/oidc/index.js';
import { Secret } from '../../src/secret.js';
import { startTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const ctx = { timeoutSeconds: 5 };
// Characters that Basic and form encoding change (space, +, /, =, ~, %), so each encoded form must be caught.
const CLIENT_SECRET = 'cs top/secret+value=~%x';
const REFRESH_TOKEN = 'opaque-refresh-token.not.a.jwt~1';
const SUBJECT_TOKEN = 'opaque-subject-access-token-42';

/** Every text an OAuthError shows anywhere: message, description, inspect, JSON, cause. */
function everything(err: unknown): string {
  const e = err as OAuthError;
  return [
    e.message,
    e.errorDescription,
    e.error,
    e.hint,
    inspect(e),
    JSON.stringify(e),
    String(e.cause),
  ].join('\n');
}

describe('oidc grants redact what the issuer echoes back', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startTestIssuer();
    issuer.setFault('echo-secrets');
  });
  after(async () => issuer.close());

  for (const authMethod of ['client_secret_basic', 'client_secret_post'] as ClientAuthMethod[]) {
    it(`refresh, client credentials and token exchange (${authMethod})`, async () => {
      const client = await createClient(
        {
          issuer: '',
          clientId: 'client id/1',
          clientSecret: new Secret(CLIENT_SECRET),
          authMethod,
          tokenEndpoint: `${issuer.url}/token`,
        },
        ctx,
      );
      const calls = [
        refreshTokenGrant(client, new Secret(REFRESH_TOKEN), {}, ctx),
        clientCredentialsGrant(client, {}, ctx),
        tokenExchangeGrant(client, new Secret(SUBJECT_TOKEN), {}, ctx),
      ];
      for (const call of calls) {
        const err = await call.then(
          () => assert.fail('the echo fault answers with an error'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof OAuthError);
        assert.equal(err.code, 'OAUTH_ERROR');
        assert.equal(err.error, 'invalid_request');
        assert.match(err.message, /^issuer answered invalid_request \(Bad request \(.*\[REDACTED\]/);
        assert.equal(err.cause, undefined);
        const text = everything(err);
        const echoed = [...issuer.issuedSecrets(), CLIENT_SECRET, REFRESH_TOKEN, SUBJECT_TOKEN];
        for (const s of echoed)
          assert.ok(!text.includes(s), `echoed ${JSON.stringify(s.slice(0, 4))}… shown`);
        assert.ok(!text.includes(encodeURIComponent(CLIENT_SECRET)));
      }
    });
  }
});
