import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  findOidcAgentAccountFile,
  loadSodium,
  readOidcAgentAccount,
  type Sodium,
} from '../../../src/agent/oidc-agent/index.js';
import { Secret } from '../../../src/secret.js';
import { tempDir } from '../../helpers/tmp.js';
import { OIDC_GEN_4_2_6_FILE } from './fixtures.js';

/** Encrypts `text` in the pre-2.1.0 one-line hex layout (what hexCrypt.c reads). */
function legacyHexFile(sodium: Sodium, text: string, password: string, legacy18: boolean): string {
  const salt = sodium.randombytes_buf(16);
  const nonce = sodium.randombytes_buf(24);
  const key = legacy18
    ? sodium.crypto_pwhash(32, password, salt, 4, 33554432, sodium.crypto_pwhash_ALG_ARGON2I13)
    : sodium.crypto_pwhash(32, password, salt, 2, 67108864, sodium.crypto_pwhash_ALG_ARGON2ID13);
  const cipher = sodium.crypto_secretbox_easy(Buffer.from(text), nonce, key);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return `${cipher.length}:${hex(salt)}:${hex(nonce)}:${hex(cipher)}`;
}

/** The 4.x layout with cheap Argon2 parameters, for content the real tools cannot produce. */
function base64File(sodium: Sodium, text: string, password: string): string {
  const salt = sodium.randombytes_buf(16);
  const nonce = sodium.randombytes_buf(24);
  const derived = sodium.crypto_pwhash(64, password, salt, 1, 8192, sodium.crypto_pwhash_ALG_ARGON2ID13);
  const cipher = sodium.crypto_secretbox_easy(Buffer.from(text), nonce, derived.subarray(0, 32));
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return [
    cipher.length,
    b64(nonce),
    b64(salt),
    '24:16:16:32:1:1:8192:2',
    b64(cipher),
    b64(derived.subarray(32)),
    'Generated using version: 4.2.6',
  ].join('\n');
}

describe('oidc-agent account file formats', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let sodium: Sodium;
  const write = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    sodium = await loadSodium();
  });
  after(() => cleanup());

  it('reads a file written by oidc-gen 4.2.6', async () => {
    const path = await write('acct', OIDC_GEN_4_2_6_FILE);
    const account = await readOidcAgentAccount(path, new Secret('secret'));
    assert.equal(account.shortname, 'acct');
    assert.equal(account.issuer, 'http://127.0.0.1:38169/');
    assert.equal(account.clientId, 'cid');
    assert.equal(account.clientSecret?.reveal(), 'csecret');
    assert.equal(account.refreshToken?.reveal(), '-FkY06FoK2K6a8rxrcjBu5a-t4dhed8kHYy0JtOS9xm');
    assert.deepEqual(account.scope, ['openid', 'offline_access', 'compute.read']);
    assert.equal(account.audience, undefined);
    assert.equal(account.raw.device_authorization_endpoint, 'http://127.0.0.1:38169/device/auth');
    for (const field of ['client_secret', 'refresh_token', 'password'])
      assert.ok(!(field in account.raw), field);
    for (const dump of [JSON.stringify(account), inspect(account, { depth: 5 })]) {
      assert.doesNotMatch(dump, /csecret|-FkY06FoK2K6/);
    }
  });

  it('a wrong password gives STORE_DECRYPT_FAILED naming the file and nothing else', async () => {
    const path = await write('acct-wrong', OIDC_GEN_4_2_6_FILE);
    await assert.rejects(
      readOidcAgentAccount(path, new Secret('not-the-password')),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'STORE_DECRYPT_FAILED');
        assert.equal(err.message, `cannot decrypt oidc-agent account file ${path}`);
        return true;
      },
    );
  });

  it('a flipped ciphertext byte is caught by the MAC', async () => {
    const lines = OIDC_GEN_4_2_6_FILE.split('\n');
    const c = lines[4] as string;
    lines[4] = `${c.slice(0, 10)}${c[10] === 'A' ? 'B' : 'A'}${c.slice(11)}`;
    const path = await write('acct-flipped', lines.join('\n'));
    await assert.rejects(readOidcAgentAccount(path, new Secret('secret')), { code: 'STORE_DECRYPT_FAILED' });
  });

  it('structural damage gives STORE_INVALID naming the file and line, before any key derivation', async () => {
    const lines = OIDC_GEN_4_2_6_FILE.split('\n');
    const cases: [string, string, RegExp][] = [
      [
        'truncated',
        lines
          .slice(0, 3)
          .concat(lines[6] as string)
          .join('\n'),
        /expected 7 lines/,
      ],
      ['bad-nonce', [lines[0], 'short', ...lines.slice(2)].join('\n'), /line 2/],
      ['bad-length', ['472', ...lines.slice(1)].join('\n'), /line 5/],
      [
        'huge-memlimit',
        [...lines.slice(0, 3), '24:16:16:32:1:2:1099511627776:2', ...lines.slice(4)].join('\n'),
        /line 4/,
      ],
      [
        'bad-alg',
        [...lines.slice(0, 3), '24:16:16:32:1:2:67108864:9', ...lines.slice(4)].join('\n'),
        /line 4/,
      ],
      [
        'argon2i-1-pass',
        [...lines.slice(0, 3), '24:16:16:32:1:1:67108864:1', ...lines.slice(4)].join('\n'),
        /line 4/,
      ],
      ['empty', '', /not an oidc-agent encrypted account file/],
      ['plain-json', '{"name":"x"}', /not an oidc-agent encrypted account file/],
    ];
    for (const [name, content, detail] of cases) {
      const path = await write(name, content);
      const started = Date.now();
      await assert.rejects(
        readOidcAgentAccount(path, new Secret('secret')),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'STORE_INVALID', name);
          assert.ok(err.message.includes(path), name);
          assert.match(err.message, detail, name);
          return true;
        },
      );
      assert.ok(Date.now() - started < 100, `${name} ran the key derivation`);
    }
  });

  it('a GPG-encrypted account file is refused with a hint', async () => {
    const path = await write('gpg', '-----BEGIN PGP MESSAGE-----\n\nhQEMA...\n-----END PGP MESSAGE-----\n');
    await assert.rejects(readOidcAgentAccount(path, new Secret('x')), {
      code: 'STORE_INVALID',
      message: /GPG/,
    });
  });

  it('a missing file is STORE_NOT_FOUND', async () => {
    await assert.rejects(readOidcAgentAccount(join(dir, 'nope'), new Secret('x')), {
      code: 'STORE_NOT_FOUND',
    });
  });

  it('maps fields: name/shortname, issuer_url, audience, scope; keeps secrets out of raw', async () => {
    const json = {
      shortname: 'old-style',
      issuer_url: 'https://iam.example/',
      client_id: 'c1',
      client_secret: '',
      refresh_token: 'rt-1',
      scope: 'openid  storage.read:/data',
      audience: 'https://a https://b',
      username: 'alice',
      password: 'alice-pw',
      redirect_uris: ['http://localhost:4242'],
    };
    const path = await write('mapped', base64File(sodium, JSON.stringify(json), 'pw'));
    const account = await readOidcAgentAccount(path, new Secret('pw'));
    assert.equal(account.shortname, 'old-style');
    assert.equal(account.clientSecret, undefined);
    assert.equal(account.refreshToken?.reveal(), 'rt-1');
    assert.deepEqual(account.scope, ['openid', 'storage.read:/data']);
    assert.equal(account.audience, 'https://a https://b');
    assert.deepEqual(account.raw, {
      shortname: 'old-style',
      issuer_url: 'https://iam.example/',
      client_id: 'c1',
      scope: 'openid  storage.read:/data',
      audience: 'https://a https://b',
      username: 'alice',
      redirect_uris: ['http://localhost:4242'],
    });
  });

  it('decrypted content that is not an account is STORE_INVALID', async () => {
    const notJson = await write('not-json', base64File(sodium, 'hello', 'pw'));
    await assert.rejects(readOidcAgentAccount(notJson, new Secret('pw')), { code: 'STORE_INVALID' });
    const noIssuer = await write('no-issuer', base64File(sodium, '{"name":"x","client_id":"c"}', 'pw'));
    await assert.rejects(readOidcAgentAccount(noIssuer, new Secret('pw')), {
      code: 'STORE_INVALID',
      message: /issuer_url/,
    });
  });

  it('reads the pre-2.1.0 hex format with both legacy parameter sets', async () => {
    const json = JSON.stringify({
      name: 'legacy',
      issuer_url: 'https://iam.example/',
      client_id: 'c',
      scope: 'openid',
    });
    for (const legacy18 of [true, false]) {
      const path = await write(`legacy-${legacy18}`, legacyHexFile(sodium, json, 'pw', legacy18));
      const account = await readOidcAgentAccount(path, new Secret('pw'));
      assert.equal(account.shortname, 'legacy');
      assert.equal(account.issuer, 'https://iam.example/');
    }
    const path = await write('legacy-wrong', legacyHexFile(sodium, json, 'pw', false));
    await assert.rejects(readOidcAgentAccount(path, new Secret('other')), { code: 'STORE_DECRYPT_FAILED' });
  });
});

describe('findOidcAgentAccountFile', () => {
  let home: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir: home, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('uses the first existing directory of $OIDC_CONFIG_DIR, ~/.config/oidc-agent, ~/.oidc-agent', async () => {
    const custom = join(home, 'custom');
    const dotConfig = join(home, '.config', 'oidc-agent');
    const dot = join(home, '.oidc-agent');
    assert.equal(findOidcAgentAccountFile('a', {}, home), undefined);

    await mkdir(dot, { recursive: true });
    await writeFile(join(dot, 'a'), 'x');
    assert.equal(findOidcAgentAccountFile('a', {}, home), join(dot, 'a'));
    assert.equal(findOidcAgentAccountFile('a', { OIDC_CONFIG_DIR: custom }, home), join(dot, 'a'));

    // Once ~/.config/oidc-agent exists, oidc-agent uses it and no longer looks in ~/.oidc-agent.
    await mkdir(dotConfig, { recursive: true });
    assert.equal(findOidcAgentAccountFile('a', {}, home), undefined);
    await writeFile(join(dotConfig, 'a'), 'x');
    assert.equal(findOidcAgentAccountFile('a', {}, home), join(dotConfig, 'a'));

    await mkdir(custom);
    assert.equal(findOidcAgentAccountFile('a', { OIDC_CONFIG_DIR: custom }, home), undefined);
    await writeFile(join(custom, 'a'), 'x');
    assert.equal(findOidcAgentAccountFile('a', { OIDC_CONFIG_DIR: custom }, home), join(custom, 'a'));
    // A directory named like the account is not an account file.
    await mkdir(join(custom, 'b'));
    assert.equal(findOidcAgentAccountFile('b', { OIDC_CONFIG_DIR: custom }, home), undefined);
  });

  it('refuses names that would leave the directory', () => {
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\0b']) {
      assert.throws(() => findOidcAgentAccountFile(name, {}, home), { code: 'USAGE' }, JSON.stringify(name));
    }
  });
});
