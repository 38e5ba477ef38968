import assert from 'node:assert/strict';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readAccountStatus, statusFile, updateAccountStatus } from '../../src/renewal/index.js';
import { readAccountStatusFile } from '../../src/renewal/status.js';
import { tempDir } from '../helpers/tmp.js';

describe('status files: one per account, merged per token', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(async () => cleanup());

  const base = { account: 'vo', path: '/t' };

  it('a failure keeps the last renewal and expiry of the token; other tokens are untouched', async () => {
    await updateAccountStatus(dir, 'vo', [
      { ...base, token: 'a', state: 'ok', lastRenewal: '2026-12-01T10:00:00.000Z', expiresAt: 1000 },
      { ...base, token: 'b', state: 'ok', lastRenewal: '2026-12-01T10:00:01.000Z', expiresAt: 2000 },
    ]);
    await updateAccountStatus(dir, 'vo', [{ ...base, token: 'a', state: 'failing', lastError: 'down' }]);
    const s = await readAccountStatus(dir, 'vo');
    assert.equal(s.a?.state, 'failing');
    assert.equal(s.a?.lastError, 'down');
    assert.equal(s.a?.lastRenewal, '2026-12-01T10:00:00.000Z');
    assert.equal(s.a?.expiresAt, 1000);
    assert.equal(s.b?.expiresAt, 2000);
    await updateAccountStatus(dir, 'vo', [{ ...base, token: 'a', state: 'ok', expiresAt: 3000 }]);
    const ok = await readAccountStatus(dir, 'vo');
    assert.equal(ok.a?.lastError, undefined, 'a success clears the error');
    assert.equal(ok.a?.expiresAt, 3000);
  });

  it('one file per account, with an unsafe account name encoded', async () => {
    await updateAccountStatus(dir, 'we/ird', [{ ...base, account: 'we/ird', token: 'x', state: 'ok' }]);
    assert.deepEqual((await readdir(join(dir, 'status'))).sort(), ['vo.json', 'we%2Fird.json']);
    assert.equal(statusFile(dir, 'we/ird'), join(dir, 'status', 'we%2Fird.json'));
  });

  it('an unreadable or foreign file reads as no status, and is replaced by the next update', async () => {
    await writeFile(statusFile(dir, 'broken'), '{not json');
    assert.deepEqual(await readAccountStatus(dir, 'broken'), {});
    await updateAccountStatus(dir, 'broken', [{ ...base, account: 'broken', token: 'y', state: 'ok' }]);
    assert.equal((await readAccountStatus(dir, 'broken')).y?.state, 'ok');
    assert.deepEqual(await readAccountStatus(dir, 'never'), {});
  });

  it('read on a local disk without the thread pool, a status file reads the same', async () => {
    await updateAccountStatus(dir, 'same', [
      { ...base, account: 'same', token: 'z', state: 'ok', expiresAt: 9 },
    ]);
    await writeFile(statusFile(dir, 'garbled'), '{not json');
    await mkdir(statusFile(dir, 'adir'));
    await symlink(statusFile(dir, 'same'), statusFile(dir, 'linked'));
    for (const account of ['same', 'garbled', 'adir', 'linked', 'never']) {
      assert.deepEqual(
        await readAccountStatusFile(dir, account, true),
        await readAccountStatusFile(dir, account, false),
        account,
      );
    }
    assert.equal((await readAccountStatusFile(dir, 'same', true)).tokens.z?.expiresAt, 9);
    assert.deepEqual((await readAccountStatusFile(dir, 'linked', true)).tokens, {});
  });
});
