import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { findOidcAgentAccountFile, readOidcAgentAccount } from '../../../src/agent/oidc-agent/index.js';
import { Secret } from '../../../src/secret.js';
import { startTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  HAVE_OIDC_AGENT,
  type RealOidcAgent,
  runOidcGenDeviceFlow,
  startRealOidcAgent,
} from './oidc-tools.js';

const CLIENT_ID = 'oidc-agent-import';
const CLIENT_SECRET = 'oidc-agent-import-secret-5f3e2d1c';
const PASSWORD = 'correct horse battery staple';
const SCOPE = 'openid offline_access storage.read:/ compute.read';
const noSlash = (url: string) => url.replace(/\/+$/, '');

describe('reading an account file written by the real oidc-gen 4.2.6', () => {
  before(() => {
    // A missing peer fails the suite loudly (scripts/setup.sh installs oidc-agent-cli); never a skip.
    assert.ok(HAVE_OIDC_AGENT, 'oidc-agent-cli is not installed: run scripts/setup.sh');
  });
  let issuer: TestIssuer;
  let agent: RealOidcAgent;
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    issuer = await startTestIssuer();
    await issuer.addClient({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPE,
    });
    agent = await startRealOidcAgent(dir);
    const gen = await runOidcGenDeviceFlow({
      agent,
      name: 'wlcg',
      issuer: issuer.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scope: SCOPE,
      password: PASSWORD,
      approve: (code) => issuer.approveDeviceCode(code, 'oidc-agent-user'),
    });
    assert.equal(gen.code, 0, gen.output);
    assert.ok(gen.userCode, 'oidc-gen printed no user code');
    file = join(agent.configDir, 'wlcg');
  });

  after(async () => {
    await agent?.stop();
    await issuer?.close();
    await cleanup?.();
  });

  it('the file has the 7-line layout: length, nonce, salt, parameters, ciphertext, hash key, version', async () => {
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 7);
    assert.match(lines[0] as string, /^\d+$/);
    assert.equal(Buffer.from(lines[1] as string, 'base64').length, 24);
    assert.equal(Buffer.from(lines[2] as string, 'base64').length, 16);
    assert.equal(lines[3], '24:16:16:32:1:2:67108864:2');
    assert.equal(Buffer.from(lines[4] as string, 'base64').length, Number(lines[0]));
    assert.equal(Buffer.from(lines[5] as string, 'base64').length, 32);
    assert.equal(lines[6], 'Generated using version: 4.2.6');
  });

  it('findOidcAgentAccountFile finds it through $OIDC_CONFIG_DIR', () => {
    assert.equal(findOidcAgentAccountFile('wlcg', { OIDC_CONFIG_DIR: agent.configDir }, dir), file);
    assert.equal(findOidcAgentAccountFile('other', { OIDC_CONFIG_DIR: agent.configDir }, dir), undefined);
  });

  it('decrypts to the issuer, client, refresh token and scopes, secrets wrapped', async () => {
    const account = await readOidcAgentAccount(file, new Secret(PASSWORD));
    assert.equal(account.shortname, 'wlcg');
    assert.equal(noSlash(account.issuer), noSlash(issuer.url));
    assert.equal(account.clientId, CLIENT_ID);
    assert.equal(account.clientSecret?.reveal(), CLIENT_SECRET);
    assert.ok(account.refreshToken && account.refreshToken.reveal().length > 10, 'no refresh token');
    assert.deepEqual(account.scope, SCOPE.split(' '));
    assert.equal(account.raw.client_id, CLIENT_ID);
    assert.ok(!('refresh_token' in account.raw) && !('client_secret' in account.raw));
    for (const dump of [JSON.stringify(account), inspect(account, { depth: 5 })]) {
      assert.ok(!dump.includes(CLIENT_SECRET) && !dump.includes(account.refreshToken.reveal()));
    }
  });

  it('a wrong password is STORE_DECRYPT_FAILED with a fixed message naming the file', async () => {
    await assert.rejects(
      readOidcAgentAccount(file, new Secret('wrong password')),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'STORE_DECRYPT_FAILED');
        assert.equal(err.message, `cannot decrypt oidc-agent account file ${file}`);
        return true;
      },
    );
  });

  it('a tampered file gives an error that contains no secret', async () => {
    const refreshToken = (
      await readOidcAgentAccount(file, new Secret(PASSWORD))
    ).refreshToken?.reveal() as string;
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    const variants: [string, string[]][] = [
      ['ciphertext', lines.map((l, i) => (i === 4 ? flip(l, 20) : l))],
      ['salt', lines.map((l, i) => (i === 2 ? flip(l, 3) : l))],
      ['hash key', lines.map((l, i) => (i === 5 ? flip(l, 7) : l))],
      ['truncated', lines.slice(0, 5)],
    ];
    for (const [what, content] of variants) {
      const path = join(dir, `tampered-${what.replace(' ', '-')}`);
      await writeFile(path, content.join('\n'), { mode: 0o600 });
      await assert.rejects(
        readOidcAgentAccount(path, new Secret(PASSWORD)),
        (err: Error & { code?: string }) => {
          assert.ok(
            err.code === 'STORE_DECRYPT_FAILED' || err.code === 'STORE_INVALID',
            `${what}: ${err.code}`,
          );
          assert.ok(err.message.includes(path), what);
          const text = `${err.message} ${inspect(err)}`;
          for (const secret of [PASSWORD, CLIENT_SECRET, refreshToken])
            assert.ok(!text.includes(secret), what);
          return true;
        },
      );
    }
  });
});
