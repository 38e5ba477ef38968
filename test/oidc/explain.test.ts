import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError, TokenwardenError } from '../../src/errors.js';
import { accountErrorContext, explainOAuthError } from '../../src/oidc/index.js';

describe('explainOAuthError', () => {
  const refresh = { kind: 'refresh', name: 'vo', line: 3, credentialFile: '/s/accounts/vo.cred' };
  const record = { scope: ['openid', 'storage.read:/'], clientId: 'dyn-1' };

  it('invalid_scope: asked, granted, and the setup --scope that would get both', () => {
    const err = new OAuthError('invalid_scope', 'not allowed', 400, { grant: 'refresh' });
    const out = explainOAuthError(err, accountErrorContext(refresh, record, ['compute.read'], '/c.ini'));
    assert.ok(out instanceof OAuthError);
    assert.equal(out.code, 'OAUTH_ERROR');
    assert.equal(out.error, 'invalid_scope');
    assert.equal(
      out.message,
      'account vo: the issuer refused the scope asked for (issuer answered invalid_scope (not allowed)); asked: compute.read; the account was granted: openid storage.read:/',
    );
    assert.equal(
      out.hint,
      'ask only for scopes among those granted, or log in for more: tokenwarden setup vo --config /c.ini --scope "openid storage.read:/ compute.read" --force',
    );
    assert.deepEqual(out.remedy, {
      command: 'setup',
      account: 'vo',
      config: '/c.ini',
      finalFlags: ['--scope', '"openid storage.read:/ compute.read"', '--force'],
    });
  });

  it('invalid_client: the client_id and where it came from (the credential setup made, or the config)', () => {
    const err = new OAuthError('invalid_client', undefined, 401);
    const fromRecord = explainOAuthError(err, accountErrorContext(refresh, record, undefined, '/c.ini'));
    assert.equal(
      fromRecord.message,
      'account vo: the issuer does not accept client_id "dyn-1" with its client_secret (issuer answered invalid_client); client_id and client_secret are from the credential /s/accounts/vo.cred that setup made',
    );
    assert.match(
      (fromRecord as OAuthError).hint ?? '',
      /register a new one: tokenwarden setup vo --config \/c\.ini --force$/,
    );
    const robot = { kind: 'client_credentials', name: 'robot', line: 7, clientId: 'robot' };
    const fromConfig = explainOAuthError(err, accountErrorContext(robot, undefined, undefined, '/c.ini'));
    assert.match(
      fromConfig.message,
      /client_id and client_secret are from \/c\.ini line 7: Config for \[account robot\]$/,
    );
    // A client from the config is the admin's to check: no command fixes it.
    assert.equal((fromConfig as OAuthError).remedy, undefined);
    assert.deepEqual((fromRecord as OAuthError).remedy, {
      command: 'setup',
      account: 'vo',
      config: '/c.ini',
      finalFlags: ['--force'],
    });
  });

  it('anything else is returned as it is', () => {
    const grant = new OAuthError('invalid_grant', 'gone', 400);
    assert.equal(explainOAuthError(grant, { account: 'vo' }), grant);
    const other = new TokenwardenError('NETWORK', 'down');
    assert.equal(explainOAuthError(other, { account: 'vo' }), other);
  });
});
