import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClientCache, expiryOf, refreshWithRotation } from '../../src/credentials/index.js';
import { isTokenwardenError } from '../../src/errors.js';
import type { RequestContext } from '../../src/oidc/index.js';
import { Secret } from '../../src/secret.js';
import { type CredentialStore, createFileStore } from '../../src/store/index.js';
import { decodeToken } from '../../src/tokens/index.js';
import { createWorldWithAccount, type World } from '../helpers/world.js';

/** A fetch that counts the requests to each path, and can be told to fail as if the issuer were down. */
function countingFetch() {
  const paths: string[] = [];
  let down = false;
  const counted: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (down) throw new TypeError('fetch failed');
    paths.push(url.pathname);
    return fetch(input, init);
  };
  return {
    fetch: counted,
    count: (part: string) => paths.filter((p) => p.includes(part)).length,
    setDown: (value: boolean) => {
      down = value;
    },
  };
}

describe('ClientCache', () => {
  let world: World;
  let store: CredentialStore;
  before(async () => {
    world = await createWorldWithAccount('vo');
    const password = (await readFile(join(world.dir, 'vo.pw'), 'utf8')).split('\n')[0] as string;
    store = createFileStore({
      credentialFile: () => join(world.state, 'accounts', 'vo.cred'),
      password: async () => new Secret(password),
    });
  });
  after(async () => {
    await store.close();
    await world.close();
  });

  it('discovers each issuer once; every client built from it refreshes', async () => {
    const counter = countingFetch();
    const clients = new ClientCache();
    for (let i = 0; i < 3; i++) {
      // Each session has its own context (deadline, fetch), as each run of a daemon does.
      const ctx: RequestContext = { timeoutSeconds: 10, fetch: counter.fetch };
      const { response } = await store.withLock('vo', async () => {
        const record = await store.load('vo');
        assert.ok(record);
        const client = await clients.forRecord(record, ctx);
        return refreshWithRotation({
          store,
          record,
          client,
          request: { scope: [], audience: [], audienceParam: 'audience' },
          ctx,
          login: { command: 'setup', account: 'vo' },
        });
      });
      assert.equal(typeof decodeToken(response.accessToken.reveal()).claims.exp, 'number');
    }
    assert.equal(counter.count('/.well-known/'), 1, 'one discovery for three sessions');
    assert.equal(counter.count('/token'), 3, 'three refreshes');
    assert.equal(clients.size, 1);
  });

  it('does not remember a failed discovery: the next session discovers again', async () => {
    const counter = countingFetch();
    const clients = new ClientCache();
    const record = await store.load('vo');
    assert.ok(record);
    const ctx: RequestContext = { timeoutSeconds: 10, fetch: counter.fetch };
    counter.setDown(true);
    const failed = await clients.forRecord(record, ctx).then(
      () => assert.fail('discovery succeeded with the issuer down'),
      (err: unknown) => err,
    );
    assert.ok(isTokenwardenError(failed));
    assert.equal(failed.code, 'NETWORK');
    assert.equal(clients.size, 0);
    counter.setDown(false);
    await clients.forRecord(record, ctx);
    await clients.forRecord(record, ctx);
    assert.equal(counter.count('/.well-known/'), 1);
  });

  it('discovers an issuer again once its metadata is older than the TTL (a process running for weeks)', async () => {
    const counter = countingFetch();
    let now = 1_000_000;
    const clients = new ClientCache({ ttlMs: 60_000, clock: () => now });
    const record = await store.load('vo');
    assert.ok(record);
    const ctx: RequestContext = { timeoutSeconds: 10, fetch: counter.fetch };
    await clients.forRecord(record, ctx);
    now += 60_000;
    await clients.forRecord(record, ctx);
    assert.equal(counter.count('/.well-known/'), 1, 'still fresh at the TTL');
    now += 1;
    await clients.forRecord(record, ctx);
    await clients.forRecord(record, ctx);
    assert.equal(counter.count('/.well-known/'), 2, 'discovered again once, after the TTL');
  });

  it('concurrent sessions of one issuer share one discovery', async () => {
    const counter = countingFetch();
    const clients = new ClientCache();
    const record = await store.load('vo');
    assert.ok(record);
    const ctx: RequestContext = { timeoutSeconds: 10, fetch: counter.fetch };
    await Promise.all(Array.from({ length: 5 }, () => clients.forRecord(record, ctx)));
    assert.equal(counter.count('/.well-known/'), 1);
  });
});

describe('expiryOf', () => {
  it('is the JWT exp when there is one, else now + expires_in, else unknown', () => {
    assert.equal(expiryOf({ expiresIn: 60 }, { exp: 5000 }, 1000), 5000);
    assert.equal(expiryOf({ expiresIn: 60 }, {}, 1000), 1060);
    assert.equal(expiryOf({ expiresIn: 60 }, undefined, 1000), 1060);
    assert.equal(expiryOf({}, undefined, 1000), undefined);
  });
});
