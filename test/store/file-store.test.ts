import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TokenwardenError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { type CredentialStore, createFileStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import { decryptFailedMessage, fullRecord, PASSWORD, runStoreContract, secretsOf } from './contract.js';
import { credentialPath, lockPath, makeFileStoreFixture, TEST_KDF } from './file-fixture.js';

runStoreContract('encrypted files', makeFileStoreFixture);

interface Envelope {
  format: string;
  version: number;
  account: string;
  kdf: { name: string; N: number; r: number; p: number; salt: string };
  cipher: string;
  iv: string;
  tag: string;
  data: string;
}

describe('file store', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let stores: CredentialStore[];
  let passwordCalls: number;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-file-store-'));
    stores = [];
    passwordCalls = 0;
  });
  afterEach(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    await cleanup();
  });

  function open(options: { password?: string; kdf?: { N?: number } | undefined; root?: string } = {}) {
    const root = options.root ?? dir;
    const store = createFileStore({
      credentialFile: (account) => credentialPath(root, account),
      lockFile: (account) => lockPath(root, account),
      password: async () => {
        passwordCalls++;
        return new Secret(options.password ?? PASSWORD);
      },
      ...('kdf' in options ? (options.kdf === undefined ? {} : { kdf: options.kdf }) : { kdf: TEST_KDF }),
    });
    stores.push(store);
    return store;
  }

  async function envelopeOf(account: string): Promise<Envelope> {
    return JSON.parse(await readFile(credentialPath(dir, account), 'utf8')) as Envelope;
  }

  it('writes the record 0600 in a credential directory it creates 0700', async () => {
    const root = join(dir, 'state', 'deep');
    await open({ root }).save(fullRecord('alice'));
    assert.equal((await stat(credentialPath(root, 'alice'))).mode & 0o7777, 0o600);
    assert.equal((await stat(join(root, 'accounts'))).mode & 0o7777, 0o700);
  });

  it("leaves an existing credential directory's mode alone", async () => {
    await mkdir(join(dir, 'accounts'));
    await chmod(join(dir, 'accounts'), 0o750);
    await open().save(fullRecord('alice'));
    assert.equal((await stat(join(dir, 'accounts'))).mode & 0o7777, 0o750);
  });

  it('writes one line of JSON envelope recording the format, account, KDF parameters and cipher', async () => {
    await open().save(fullRecord('alice'));
    const text = await readFile(credentialPath(dir, 'alice'), 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.equal(text.split('\n').length, 2);
    const envelope = JSON.parse(text) as Envelope;
    assert.deepEqual(Object.keys(envelope), [
      'format',
      'version',
      'account',
      'kdf',
      'cipher',
      'iv',
      'tag',
      'data',
    ]);
    assert.equal(envelope.format, 'tokenwarden-credential');
    assert.equal(envelope.version, 1);
    assert.equal(envelope.account, 'alice');
    assert.equal(envelope.cipher, 'aes-256-gcm');
    assert.deepEqual(
      { ...envelope.kdf, salt: undefined },
      { name: 'scrypt', N: 4096, r: 8, p: 1, salt: undefined },
    );
    assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 16);
    assert.equal(Buffer.from(envelope.iv, 'base64').length, 12);
    assert.equal(Buffer.from(envelope.tag, 'base64').length, 16);
  });

  it('keeps no secret in clear in the file, nor base64-encoded', async () => {
    const record = fullRecord('alice');
    await open().save(record);
    const bytes = await readFile(credentialPath(dir, 'alice'));
    for (const s of [...secretsOf(record), PASSWORD]) {
      assert.equal(bytes.indexOf(s), -1, 'a secret is in clear in the file');
      assert.equal(
        bytes.indexOf(Buffer.from(s).toString('base64').slice(0, 16)),
        -1,
        'a secret is in base64',
      );
    }
    assert.equal(secretsOf(record).length, 4);
  });

  it('derives the key once: saves after a load reuse the salt with a fresh IV; a new store gets a new salt', async () => {
    await open().save(fullRecord('alice'));
    const first = await envelopeOf('alice');
    passwordCalls = 0;
    const store = open();
    const record = await store.load('alice');
    assert.ok(record);
    const ivs = new Set<string>([first.iv]);
    for (let i = 0; i < 3; i++) {
      await store.save({ ...record, updatedAt: `2025-03-0${i + 1}T00:00:00.000Z` });
      const envelope = await envelopeOf('alice');
      assert.equal(envelope.kdf.salt, first.kdf.salt);
      ivs.add(envelope.iv);
    }
    assert.equal(ivs.size, 4, 'each seal has its own IV');
    assert.equal(passwordCalls, 1, 'one key derivation for one load and three saves');
    assert.equal((await store.load('alice'))?.updatedAt, '2025-03-03T00:00:00.000Z');

    await open().save(fullRecord('alice'));
    assert.notEqual((await envelopeOf('alice')).kdf.salt, first.kdf.salt);
  });

  describe('refuses altered files with the one STORE_DECRYPT_FAILED message and leaves them unchanged', () => {
    const flip = (b64: string, at: number) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ 0x01;
      return bytes.toString('base64');
    };
    const cases: Array<[string, (e: Envelope) => Envelope | string]> = [
      ['a byte of data flipped', (e) => ({ ...e, data: flip(e.data, 17) })],
      ['a byte of the tag flipped', (e) => ({ ...e, tag: flip(e.tag, 3) })],
      ['a byte of the IV flipped', (e) => ({ ...e, iv: flip(e.iv, 0) })],
      ['kdf N changed', (e) => ({ ...e, kdf: { ...e.kdf, N: e.kdf.N * 2 } })],
      ['kdf r changed', (e) => ({ ...e, kdf: { ...e.kdf, r: 4 } })],
      ['kdf salt changed', (e) => ({ ...e, kdf: { ...e.kdf, salt: flip(e.kdf.salt, 5) } })],
      ['kdf N raised to ask for terabytes', (e) => ({ ...e, kdf: { ...e.kdf, N: 2 ** 30 } })],
      ['the account changed', (e) => ({ ...e, account: 'mallory' })],
      ['the cipher changed', (e) => ({ ...e, cipher: 'aes-128-gcm' })],
      ['the version changed', (e) => ({ ...e, version: 2 })],
      ['data not base64', (e) => ({ ...e, data: `${e.data.slice(0, -4)}!!!!` })],
      ['not JSON', (e) => JSON.stringify(e).slice(0, 40)],
      ['empty', () => ''],
    ];
    for (const [what, alter] of cases) {
      it(what, async () => {
        const path = credentialPath(dir, 'alice');
        const warm = open();
        await warm.save(fullRecord('alice'));
        assert.ok(await warm.load('alice'));
        const altered = alter(await envelopeOf('alice'));
        await writeFile(path, typeof altered === 'string' ? altered : `${JSON.stringify(altered)}\n`);
        const before = await readFile(path);
        for (const store of [warm, open()]) {
          const started = Date.now();
          await assert.rejects(store.load('alice'), (err: unknown) => {
            assert.ok(err instanceof TokenwardenError);
            assert.equal(err.code, 'STORE_DECRYPT_FAILED');
            assert.equal(err.message, decryptFailedMessage('alice'));
            return true;
          });
          assert.ok(Date.now() - started < 5000);
        }
        assert.deepEqual(await readFile(path), before);
      });
    }

    it('a file copied to another account, as it is or with the account field edited to match', async () => {
      await open().save(fullRecord('alice'));
      await mkdir(join(dir, 'accounts'), { recursive: true });
      const copied = credentialPath(dir, 'mallory');
      await copyFile(credentialPath(dir, 'alice'), copied);
      await assert.rejects(open().load('mallory'), {
        code: 'STORE_DECRYPT_FAILED',
        message: decryptFailedMessage('mallory'),
      });
      const edited = { ...(await envelopeOf('alice')), account: 'mallory' };
      await writeFile(copied, `${JSON.stringify(edited)}\n`);
      const before = await readFile(copied);
      await assert.rejects(open().load('mallory'), {
        code: 'STORE_DECRYPT_FAILED',
        message: decryptFailedMessage('mallory'),
      });
      assert.deepEqual(await readFile(copied), before);
    });
  });

  it('refuses a credential file that is a symlink', async () => {
    await open().save(fullRecord('alice'));
    await symlink(credentialPath(dir, 'alice'), credentialPath(dir, 'bob'));
    await assert.rejects(open().load('bob'), { code: 'FILE_UNSAFE' });
  });

  it('writes nothing when the password cannot be read', async () => {
    const store = createFileStore({
      credentialFile: (account) => credentialPath(dir, account),
      lockFile: (account) => lockPath(dir, account),
      password: async () => {
        throw new TokenwardenError('PASSWORD_FILE', 'cannot read the password file');
      },
      kdf: TEST_KDF,
    });
    stores.push(store);
    await assert.rejects(store.save(fullRecord('alice')), { code: 'PASSWORD_FILE' });
    assert.equal(await open().load('alice'), undefined);
  });

  it('refuses use after close', async () => {
    const store = open();
    await store.close();
    await assert.rejects(store.load('alice'), { code: 'INTERNAL' });
    await assert.rejects(store.save(fullRecord('alice')), { code: 'INTERNAL' });
  });

  it('uses scrypt N=2^15, r=8, p=1 by default', async (t) => {
    const store = open({ kdf: undefined });
    let started = performance.now();
    await store.save(fullRecord('alice'));
    const firstSave = performance.now() - started;
    assert.deepEqual(
      { ...(await envelopeOf('alice')).kdf, salt: undefined },
      {
        name: 'scrypt',
        N: 32768,
        r: 8,
        p: 1,
        salt: undefined,
      },
    );
    started = performance.now();
    await store.save(fullRecord('alice'));
    const nextSave = performance.now() - started;
    started = performance.now();
    const loaded = await open({ kdf: undefined }).load('alice');
    const coldLoad = performance.now() - started;
    assert.equal(loaded?.refreshToken?.reveal(), fullRecord('alice').refreshToken?.reveal());
    t.diagnostic(
      `first save (with KDF) ${firstSave.toFixed(1)} ms, next save ${nextSave.toFixed(1)} ms, cold load ${coldLoad.toFixed(1)} ms`,
    );
  });
});
