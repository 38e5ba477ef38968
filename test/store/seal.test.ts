import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenwardenError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { createKdfParams, deriveKey, openRecord, parseEnvelope, sealRecord } from '../../src/store/index.js';
import { recordFromPayload, recordToPayload } from '../../src/store/record.js';
import { decryptFailedMessage, fullRecord, revealed, secretsOf } from './contract.js';

const password = new Secret('pw');

describe('seal', () => {
  it('derives the same 256-bit key for the same password and salt, another for another salt', async () => {
    const kdf = createKdfParams({ N: 2 ** 10 });
    const a = await deriveKey(password, kdf);
    assert.equal(a.length, 32);
    assert.deepEqual(await deriveKey(new Secret('pw'), kdf), a);
    assert.notDeepEqual(await deriveKey(password, createKdfParams({ N: 2 ** 10 })), a);
    assert.notDeepEqual(await deriveKey(new Secret('pw2'), kdf), a);
  });

  it('seals with a fresh IV each time and opens back to the same record', async () => {
    const kdf = createKdfParams({ N: 2 ** 10 });
    const key = await deriveKey(password, kdf);
    const record = fullRecord('alice');
    const one = sealRecord(record, key, kdf);
    const two = sealRecord(record, key, kdf);
    assert.notDeepEqual(one, two);
    assert.deepEqual(revealed(openRecord(one, key, 'alice')), revealed(record));
    assert.deepEqual(revealed(openRecord(parseEnvelope(two, 'alice'), key, 'alice')), revealed(record));
  });

  it('fails to open for another account, with that account in the fixed message', async () => {
    const kdf = createKdfParams({ N: 2 ** 10 });
    const key = await deriveKey(password, kdf);
    const sealed = sealRecord(fullRecord('alice'), key, kdf);
    assert.throws(() => openRecord(sealed, key, 'bob'), {
      code: 'STORE_DECRYPT_FAILED',
      message: decryptFailedMessage('bob'),
    });
    const envelope = parseEnvelope(sealed, 'alice');
    assert.throws(() => openRecord({ ...envelope, account: 'bob' }, key, 'bob'), {
      code: 'STORE_DECRYPT_FAILED',
    });
  });

  it('says nothing about a bad tag, and only the structure problem about a malformed file', async () => {
    const kdf = createKdfParams({ N: 2 ** 10 });
    const sealed = sealRecord(fullRecord('alice'), await deriveKey(password, kdf), kdf);
    const wrongKey = await deriveKey(new Secret('other'), kdf);
    assert.throws(
      () => openRecord(sealed, wrongKey, 'alice'),
      (err: unknown) => err instanceof TokenwardenError && err.cause === undefined,
    );
    assert.throws(
      () => parseEnvelope('{"format":"tokenwarden-credential"', 'alice'),
      (err: unknown) =>
        err instanceof TokenwardenError &&
        err.code === 'STORE_DECRYPT_FAILED' &&
        err.cause instanceof Error &&
        err.cause.message === 'the file is not JSON',
    );
  });

  it('refuses unusable KDF parameters', () => {
    for (const N of [1000, 2 ** 9, 2 ** 21]) {
      assert.throws(() => createKdfParams({ N }), { code: 'STORE_INVALID' });
    }
    assert.throws(() => createKdfParams({ N: 2 ** 20, r: 16 }), { code: 'STORE_INVALID' });
    assert.throws(() => createKdfParams({ p: 0 }), { code: 'STORE_INVALID' });
  });
});

describe('record payload', () => {
  it('reveals secrets only into the payload, and omits absent fields', () => {
    const record = fullRecord('alice');
    const payload = recordToPayload(record);
    const text = JSON.stringify(payload);
    for (const s of secretsOf(record)) assert.ok(text.includes(s));
    assert.ok(!('clientSecret' in recordToPayload({ ...record, clientSecret: undefined })));
  });

  it('reads back what it wrote, and refuses another version or a wrong shape with STORE_INVALID', () => {
    const record = fullRecord('alice');
    assert.deepEqual(revealed(recordFromPayload(recordToPayload(record), 'alice')), revealed(record));
    assert.throws(() => recordFromPayload({ ...recordToPayload(record), version: 2 }, 'alice'), {
      code: 'STORE_INVALID',
      message: 'the credential of account alice has record version 2, this tokenwarden reads version 1',
    });
    assert.throws(() => recordFromPayload({ ...recordToPayload(record), scope: 'openid' }, 'alice'), {
      code: 'STORE_INVALID',
    });
    assert.throws(() => recordFromPayload(recordToPayload(record), 'bob'), { code: 'STORE_INVALID' });
  });
});
