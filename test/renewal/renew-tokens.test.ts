import assert from 'node:assert/strict';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storeForConfig } from '../../src/cli/shared.js';
import { loadRenewerConfig, type RenewerConfig } from '../../src/config/index.js';
import { ClientCache } from '../../src/credentials/index.js';
import { acquireLock } from '../../src/files/index.js';
import { renewTokens, type TokenOutcome } from '../../src/renewal/index.js';
import { Secret } from '../../src/secret.js';
import type { CredentialStore } from '../../src/store/index.js';
import { decodeToken } from '../../src/tokens/index.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

const ROBOT_SECRET = 'robot-secret-0123456789';

/**
 * renewTokens as a long-running caller (the daemon) uses it: many calls in one process, each on a subset
 * of the tokens, sharing one client cache; and the locks it takes, for each kind of account.
 */
describe('renewTokens called repeatedly in one process', () => {
  let world: World;
  let config: RenewerConfig;
  let store: CredentialStore;
  const paths: string[] = [];
  const counting: typeof fetch = (input, init) => {
    paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return fetch(input, init);
  };

  before(async () => {
    world = await createWorldWithAccount('vo', {
      clients: [
        {
          client_id: 'robot',
          client_secret: ROBOT_SECRET,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        },
      ],
    });
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}
[account robot]
token_request_url = ${world.issuer.url}/token
client_id = robot
client_secret = ${ROBOT_SECRET}

${tokenSection(world, 'a', 'vo', { scope: 'storage.read:/' })}${tokenSection(world, 'b', 'vo', { scope: 'compute.read' })}${tokenSection(world, 'r', 'robot', { scope: 'compute.read' })}`,
    );
    config = await loadRenewerConfig({
      path: world.config,
      env: {},
      uid: process.getuid?.() ?? 0,
      home: world.dir,
    });
    store = storeForConfig(config);
  });
  after(async () => {
    await store.close();
    await world.close();
  });

  const run = (only: string[], extra: { clients?: ClientCache; force?: boolean; signal?: AbortSignal }) =>
    renewTokens({
      config,
      store,
      clientSecret: async () => new Secret(ROBOT_SECRET),
      fetch: counting,
      only,
      ...extra,
    });

  async function onDisk(name: string): Promise<{ iat: unknown; exp: unknown }> {
    const { claims } = decodeToken(await readFile(join(world.tokens, `${name}.token`), 'utf8'));
    return { iat: claims.iat, exp: claims.exp };
  }

  function only(outcomes: TokenOutcome[]): TokenOutcome {
    assert.equal(outcomes.length, 1, JSON.stringify(outcomes));
    return outcomes[0] as TokenOutcome;
  }

  it('with one client cache, each issuer is discovered once; outcomes carry iat and exp of the token', async () => {
    const clients = new ClientCache();
    paths.length = 0;
    const a = only((await run(['a'], { clients })).outcomes);
    assert.equal(a.result, 'renewed', a.error?.message);
    assert.deepEqual({ iat: a.issuedAt, exp: a.expiresAt }, await onDisk('a'));
    const b = only((await run(['b'], { clients })).outcomes);
    assert.equal(b.result, 'renewed', b.error?.message);
    assert.deepEqual({ iat: b.issuedAt, exp: b.expiresAt }, await onDisk('b'));
    // A fresh token: what the file on disk says, without another request.
    const fresh = only((await run(['a'], { clients })).outcomes);
    assert.equal(fresh.result, 'fresh');
    assert.deepEqual({ iat: fresh.issuedAt, exp: fresh.expiresAt }, await onDisk('a'));
    const forced = only((await run(['a'], { clients, force: true })).outcomes);
    assert.equal(forced.result, 'renewed', forced.error?.message);
    const r = only((await run(['r'], { clients })).outcomes);
    assert.equal(r.result, 'renewed', r.error?.message);
    assert.deepEqual({ iat: r.issuedAt, exp: r.expiresAt }, await onDisk('r'));
    assert.equal(paths.filter((p) => p.includes('/.well-known/')).length, 1, paths.join(' '));
    assert.equal(paths.filter((p) => p.endsWith('/token')).length, 4, paths.join(' '));
  });

  it('a client-credentials account takes STATE_DIR/locks/NAME.lock, as earlier versions did', async () => {
    const held = await acquireLock(join(world.state, 'locks', 'robot.lock'), { timeoutMs: 0 });
    try {
      const waited = only((await run(['r'], { force: true, signal: AbortSignal.timeout(300) })).outcomes);
      assert.equal(waited.result, 'failed');
      assert.equal(waited.error?.code, 'LOCK_TIMEOUT', waited.error?.message);
    } finally {
      await held.release();
    }
    const renewed = only((await run(['r'], { force: true })).outcomes);
    assert.equal(renewed.result, 'renewed', renewed.error?.message);
  });

  it('a refresh-token account takes the lock beside its credential file', async () => {
    const beside = join(await realpath(world.state), 'accounts', '.vo.cred.lock');
    const held = await acquireLock(beside, { timeoutMs: 0 });
    try {
      const waited = only((await run(['a'], { force: true, signal: AbortSignal.timeout(300) })).outcomes);
      assert.equal(waited.result, 'failed');
      assert.equal(waited.error?.code, 'LOCK_TIMEOUT', waited.error?.message);
    } finally {
      await held.release();
    }
  });
});
