import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClientCache, refreshWithRotation } from '../../src/credentials/index.js';
import { isTokenwardenError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { type CredentialStore, createFileStore } from '../../src/store/index.js';
import { createWorldWithAccount, type World } from '../helpers/world.js';

describe('invalid_grant marks needs-login only on the record whose refresh token was refused', () => {
  let world: World;
  let store: CredentialStore;
  before(async () => {
    world = await createWorldWithAccount('vo');
    const password = (await readFile(join(world.dir, 'vo.pw'), 'utf8')).split('\n')[0] as string;
    store = createFileStore({
      credentialFile: () => join(world.state, 'accounts', 'vo.cred'),
      lockFile: () => join(world.state, 'locks', 'vo.lock'),
      password: async () => new Secret(password),
    });
  });
  after(async () => {
    await store.close();
    await world.close();
  });

  it('a record replaced meanwhile (a new setup) is left as it is; the refused one is marked', async () => {
    const clients = new ClientCache();
    const refused = await store.load('vo');
    assert.ok(refused?.refreshToken);
    await world.issuer.revokeAllGrants();
    const args = {
      store,
      client: await clients.forRecord(refused, { timeoutSeconds: 10 }),
      request: { scope: [], audience: [], audienceParam: 'audience' as const },
      ctx: { timeoutSeconds: 10 },
      login: { command: 'setup' as const, account: 'vo' },
    };
    // What a new setup leaves: another refresh token in the stored record.
    const replacement = { ...refused, refreshToken: new Secret('a-refresh-token-from-a-new-setup') };
    await store.withLock('vo', () => store.save(replacement));
    const raced = await store
      .withLock('vo', () => refreshWithRotation({ ...args, record: refused }))
      .then(
        () => assert.fail('the refresh with a revoked token succeeded'),
        (err: unknown) => err,
      );
    assert.ok(isTokenwardenError(raced));
    assert.equal(raced.code, 'RENEW_FAILED');
    assert.match(
      raced.message,
      /account vo: its credential was replaced while it was being refreshed; try again/,
    );
    const kept = await store.load('vo');
    assert.equal(kept?.needsLogin, undefined, 'the new record is not marked');
    assert.ok(kept?.refreshToken?.equals('a-refresh-token-from-a-new-setup'));

    // The record that holds the refused token is marked.
    const dead = await store
      .withLock('vo', () => refreshWithRotation({ ...args, record: replacement }))
      .then(
        () => assert.fail('a made-up refresh token was accepted'),
        (err: unknown) => err,
      );
    assert.ok(isTokenwardenError(dead));
    assert.equal(dead.code, 'NEEDS_LOGIN');
    assert.ok((await store.load('vo'))?.needsLogin, 'marked needs-login');
  });
});
