import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loginRemedy } from '../../src/agent/accounts.js';
import { OSG_CONFIG_PATH } from '../../src/config/defaults.js';
import {
  formatRemedy,
  missingCredentialHint,
  missingCredentialRemedy,
  type RefreshAccountConfig,
} from '../../src/config/index.js';
import { credentialError, needsLoginError } from '../../src/credentials/index.js';
import { formatHint, TokenwardenError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

describe('formatRemedy', () => {
  it('words a remedy as the command line to run', () => {
    assert.equal(
      formatRemedy({ command: 'setup', account: 'vo', config: '/etc/tw.ini' }),
      'tokenwarden setup vo --config /etc/tw.ini',
    );
    assert.equal(
      formatRemedy({ command: 'setup', account: 'vo', flags: ['--force'], config: '/etc/tw.ini' }),
      'tokenwarden setup vo --force --config /etc/tw.ini',
    );
    assert.equal(
      formatRemedy({ command: 'setup', account: 'vo', config: undefined, issuer: 'https://iam.example' }),
      'tokenwarden setup vo --issuer https://iam.example',
    );
    assert.equal(
      formatRemedy({ command: 'migrate osg-token-renewer' }),
      'tokenwarden migrate osg-token-renewer',
    );
  });
});

describe('remedies on errors', () => {
  it('words options given last, a command to run next, and a root-only command with its alternative', () => {
    assert.equal(
      formatRemedy({
        command: 'setup',
        account: 'vo',
        config: '/c.ini',
        finalFlags: ['--scope', '"a b"', '--force'],
      }),
      'tokenwarden setup vo --config /c.ini --scope "a b" --force',
    );
    assert.equal(
      formatRemedy({
        command: 'setup',
        account: 'vo',
        config: '/c.ini',
        issuer: 'https://iam.example',
        next: { command: 'add', account: 'vo', config: '/c.ini' },
      }),
      'tokenwarden setup vo --config /c.ini --issuer https://iam.example, then: tokenwarden add vo --config /c.ini',
    );
    assert.equal(formatHint('fix it', undefined), 'fix it');
    assert.equal(formatHint(undefined, undefined), undefined);
    assert.equal(formatHint(undefined, { command: 'setup', account: 'vo' }), 'run: tokenwarden setup vo');
    assert.equal(
      formatHint('import it with', {
        command: 'migrate osg-token-renewer',
        asRoot: true,
        alternative: { command: 'import-oidc-agent', account: 'vo', config: '/c.ini' },
      }),
      'import it with, as root: tokenwarden migrate osg-token-renewer (or, as this user: tokenwarden import-oidc-agent vo --config /c.ini)',
    );
  });

  it('a TokenwardenError keeps its remedy as data and words its hint from it', () => {
    const remedy = { command: 'setup', account: 'vo', flags: ['--force'], config: '/c.ini' } as const;
    const err = new TokenwardenError('STORE_DECRYPT_FAILED', 'cannot decrypt', {
      hint: 'check password_file; if the credential was damaged, run',
      remedy,
    });
    assert.deepEqual(err.remedy, remedy);
    assert.equal(
      err.hint,
      'check password_file; if the credential was damaged, run: tokenwarden setup vo --force --config /c.ini',
    );
    assert.equal(new TokenwardenError('USAGE', 'x', { hint: 'plain words' }).hint, 'plain words');
    assert.equal(new TokenwardenError('USAGE', 'x').remedy, undefined);
  });

  it('the credential errors carry the command that fixes them, in the words they always had', () => {
    const account = {
      kind: 'refresh',
      name: 'vo',
      line: 4,
      credentialFile: '/s/vo.cred',
      passwordFile: '/s/vo.pw',
    } as unknown as RefreshAccountConfig;
    const login = needsLoginError(account, { needsLogin: { since: 'then', reason: 'revoked' } }, '/c.ini');
    assert.deepEqual(login.remedy, { command: 'setup', account: 'vo', config: '/c.ini' });
    assert.equal(login.hint, 'run: tokenwarden setup vo --config /c.ini');
    const damaged = credentialError(account, new TokenwardenError('STORE_DECRYPT_FAILED', 'x'), '/c.ini');
    assert.deepEqual(damaged.remedy, {
      command: 'setup',
      account: 'vo',
      flags: ['--force'],
      config: '/c.ini',
    });
    assert.equal(
      damaged.hint,
      'check password_file; if the credential was damaged, run: tokenwarden setup vo --force --config /c.ini',
    );
  });

  it('a missing credential: setup, or the import of the oidc-agent account of that name', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const none = missingCredentialRemedy('vo', '/c.ini', { env: {}, home: dir });
      assert.deepEqual(none, { remedy: { command: 'setup', account: 'vo', config: '/c.ini' } });
      await writeFile(join(dir, 'vo'), 'encrypted account');
      const env = { OIDC_CONFIG_DIR: dir };
      const mine = missingCredentialRemedy('vo', '/c.ini', { env, home: dir });
      assert.deepEqual(mine.remedy, { command: 'import-oidc-agent', account: 'vo', config: '/c.ini' });
      assert.equal(
        missingCredentialHint('vo', '/c.ini', { env, home: dir }),
        `oidc-agent has account vo (${join(dir, 'vo')}): import it with: tokenwarden import-oidc-agent vo --config /c.ini`,
      );
      const osg = new TokenwardenError(
        'STORE_NOT_FOUND',
        'no credential',
        missingCredentialRemedy('vo', OSG_CONFIG_PATH, { env, home: dir }),
      );
      assert.equal(osg.remedy?.command, 'migrate osg-token-renewer');
      assert.equal(
        osg.hint,
        `oidc-agent has account vo (${join(dir, 'vo')}): import it with, as root: tokenwarden migrate osg-token-renewer (or, as this user: tokenwarden import-oidc-agent vo --config ${OSG_CONFIG_PATH})`,
      );
    } finally {
      await cleanup();
    }
  });

  it("the agent's login: setup, then add, in the words it always had", () => {
    const remedy = loginRemedy('vo', '/c.ini', 'https://iam.example');
    assert.equal(
      formatHint(undefined, remedy),
      'run: tokenwarden setup vo --config /c.ini --issuer https://iam.example, then: tokenwarden add vo --config /c.ini',
    );
  });
});
