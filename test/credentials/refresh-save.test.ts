import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { refreshWithRotation, SAVE_RETRY_DELAYS_MS } from '../../src/credentials/index.js';
import { createClient, type RequestContext } from '../../src/oidc/index.js';
import { Secret } from '../../src/secret.js';
import { type AccountRecord, type CredentialStore, createFileStore } from '../../src/store/index.js';
import { fillUp, mountTmpfs, type Tmpfs } from '../files/tmpfs.js';
import { createWorld, refreshAccount, type World } from '../helpers/world.js';

/**
 * A rotated refresh token is never lost to a full disk: room for the new record is reserved before the
 * grant, and a save that fails anyway is retried, the new token held in memory, until it is durable or
 * every attempt has failed (CREDENTIAL_LOST, saying what to run). Against the test issuer, which
 * rotates refresh tokens and detects their reuse; the state directory is a small tmpfs.
 */
describe('refreshWithRotation on a full state disk', () => {
  let world: World;
  let fs: Tmpfs | undefined;
  let store: CredentialStore;
  let filler: string | undefined;
  const credentialFile = () => join(world.state, 'accounts', 'vo.cred');
  const ctx: RequestContext = { timeoutSeconds: 10 };

  before(async () => {
    world = await createWorld();
    fs = await mountTmpfs(world.state, '512k', ['mode=0700']);
    await world.writeConfig(refreshAccount(world, 'vo'));
    const run = await world.setup('vo');
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    try {
      await store?.close();
    } finally {
      await fs?.unmount();
      await world.close();
    }
  });
  beforeEach(async () => {
    if (filler !== undefined) await rm(filler, { force: true });
    filler = undefined;
    await store?.close();
    const password = (await readFile(join(world.dir, 'vo.pw'), 'utf8')).split('\n')[0] as string;
    store = createFileStore({ credentialFile, password: async () => new Secret(password) });
  });

  async function session(requests: RequestContext = ctx): Promise<{
    record: AccountRecord;
    client: Awaited<ReturnType<typeof createClient>>;
  }> {
    const record = await store.load('vo');
    assert.ok(record);
    const client = await createClient(
      { issuer: record.issuer, clientId: record.clientId, clientSecret: record.clientSecret },
      requests,
    );
    return { record, client };
  }

  async function stored(): Promise<string | undefined> {
    const password = (await readFile(join(world.dir, 'vo.pw'), 'utf8')).split('\n')[0] as string;
    const fresh = createFileStore({ credentialFile, password: async () => new Secret(password) });
    try {
      return (await fresh.load('vo'))?.refreshToken?.reveal();
    } finally {
      await fresh.close();
    }
  }

  it('the disk filling up during the request cannot fail the save: the room was reserved before it', async () => {
    const sleeps: number[] = [];
    // The disk fills while the token request is in flight (the refresh grant's fetch).
    const filling: typeof fetch = async (input, init) => {
      if (String(input instanceof Request ? input.url : input).includes('/token')) {
        filler = await fillUp(world.state);
      }
      return fetch(input, init);
    };
    const { record, client } = await session({ ...ctx, fetch: filling });
    const result = await refreshWithRotation({
      store,
      record,
      client,
      request: {},
      ctx: { ...ctx, fetch: filling },
      login: { command: 'setup', account: 'vo' },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    assert.ok(filler, 'the disk was filled during the request');
    assert.deepEqual(sleeps, [], 'saved at the first attempt');
    assert.notEqual(result.record.refreshToken?.reveal(), record.refreshToken?.reveal(), 'rotated');
    assert.equal(await stored(), result.record.refreshToken?.reveal());
  });

  it('a save that fails is retried, holding the rotated token, until space comes back', async () => {
    // An adapter without reservations: the first save meets the full disk.
    const { reserveSave: _unused, ...plain } = store;
    const { record, client } = await session();
    filler = await fillUp(world.state);
    const sleeps: number[] = [];
    const result = await refreshWithRotation({
      store: plain,
      record,
      client,
      request: {},
      ctx,
      login: { command: 'setup', account: 'vo' },
      sleep: async (ms) => {
        sleeps.push(ms);
        // Someone frees space after the third failed attempt.
        if (sleeps.length === 3 && filler !== undefined) await rm(filler);
      },
    });
    assert.deepEqual(sleeps, SAVE_RETRY_DELAYS_MS.slice(0, 3));
    assert.equal(await stored(), result.record.refreshToken?.reveal());
    const stats = world.issuer.stats();
    assert.equal(stats.reuseDetected, 0);
    assert.equal(stats.tokenErrors.invalid_grant ?? 0, 0);
  });

  it('when every attempt fails it says the refresh token is lost and what to run', async () => {
    const { reserveSave: _unused, ...plain } = store;
    const { record, client } = await session();
    filler = await fillUp(world.state);
    const sleeps: number[] = [];
    await assert.rejects(
      refreshWithRotation({
        store: plain,
        record,
        client,
        request: {},
        ctx,
        login: { command: 'setup', account: 'vo' },
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      }),
      {
        code: 'CREDENTIAL_LOST',
        message: `account vo: the issuer rotated the refresh token, but saving it failed ${SAVE_RETRY_DELAYS_MS.length + 1} times (cannot write ${credentialFile()}: no space left on device (ENOSPC)); the new refresh token is lost and the stored one is no longer valid`,
        hint: 'fix the storage, then run: tokenwarden setup vo',
      },
    );
    assert.deepEqual(sleeps, SAVE_RETRY_DELAYS_MS);
    // The record on disk is the old one, as the message says.
    assert.equal(await stored(), record.refreshToken?.reveal());
  });
});
