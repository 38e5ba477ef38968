import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Secret } from '../../src/secret.js';
import type { AccountRecord, CredentialStore } from '../../src/store/index.js';

/** What an adapter's test gives the contract: a way to open stores over one shared storage. */
export interface StoreFixture {
  /** A new store instance over the fixture's storage (all instances see the same records). */
  open(password: (account: string) => Promise<Secret>): CredentialStore;
  /**
   * For the cross-process tests: a module (file path) exporting `openStore(config, password)`, which
   * opens a store over the same storage from a child process, and the JSON config to pass it.
   */
  worker: { module: string; config: unknown };
  /** Removes the storage. */
  cleanup(): Promise<void>;
}

export const PASSWORD = 'correct horse battery staple';
const passwordOf = async () => new Secret(PASSWORD);
const WORKER = fileURLToPath(new URL('./contract-worker.js', import.meta.url));

/** A record with every field set, each secret distinct and easy to grep for. */
export function fullRecord(account: string): AccountRecord {
  return {
    version: 1,
    account,
    issuer: 'https://issuer.example/realms/wlcg',
    clientId: `client-${account}`,
    clientSecret: new Secret(`client-secret-${account}-9f8e7d6c5b4a`),
    tokenEndpointAuthMethod: 'client_secret_basic',
    refreshToken: new Secret(`refresh-token-${account}-0a1b2c3d4e5f`),
    previousRefreshToken: new Secret(`previous-refresh-${account}-5f4e3d2c1b0a`),
    scope: ['openid', 'offline_access', 'storage.read:/', 'compute.create'],
    registration: {
      registrationClientUri: `https://issuer.example/register/client-${account}`,
      registrationAccessToken: new Secret(`registration-access-${account}-77aa88bb`),
    },
    audienceParam: 'resource',
    createdAt: '2025-01-02T03:04:05.000Z',
    updatedAt: '2025-01-02T03:04:06.000Z',
    needsLogin: {
      since: '2025-01-03T00:00:00.000Z',
      reason: 'issuer answered invalid_grant (token revoked)',
    },
  };
}

/** Every secret of a record, revealed (to grep files for them). */
export function secretsOf(record: AccountRecord): string[] {
  return [
    record.clientSecret,
    record.refreshToken,
    record.previousRefreshToken,
    record.registration?.registrationAccessToken,
  ].flatMap((s) => (s === undefined ? [] : [s.reveal()]));
}

/**
 * The record with its secrets revealed as `{ secret }`, and undefined fields dropped, for deep
 * comparison (the minimal-record test checks absent fields on its own).
 */
export function revealed(record: AccountRecord | undefined): unknown {
  return record === undefined ? undefined : reveal(record);
}

function reveal(value: unknown): unknown {
  if (value instanceof Secret) return { secret: value.reveal() };
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, reveal(v)]),
    );
  }
  return value;
}

export function decryptFailedMessage(account: string): string {
  return `cannot decrypt the credential for account ${account}: wrong password, or the file was altered`;
}

interface Worker {
  child: ChildProcess;
  /** The first JSON line the worker prints. */
  message: Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function spawnWorker(fixture: StoreFixture, task: Record<string, unknown>): Worker {
  const child = spawn(
    process.execPath,
    [WORKER, JSON.stringify({ ...fixture.worker, password: PASSWORD, ...task })],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const message = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const newline = stdout.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)) as Record<string, unknown>);
    });
    void exited.then((e) =>
      reject(new Error(`worker exited (${e.code ?? e.signal}) before reporting: ${e.stderr}`)),
    );
  });
  message.catch(() => undefined);
  return { child, message, exited };
}

/**
 * What every CredentialStore adapter must pass (docs/architecture.md convention 7). `makeFixture` is called
 * once per test and its storage removed after it.
 */
export function runStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`CredentialStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let opened: CredentialStore[];
    let workers: Worker[];
    beforeEach(async () => {
      fixture = await makeFixture();
      opened = [];
      workers = [];
    });
    afterEach(async () => {
      for (const w of workers) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await Promise.allSettled(opened.map((s) => s.close()));
      await fixture.cleanup();
    });

    function open(password: (account: string) => Promise<Secret> = passwordOf): CredentialStore {
      const store = fixture.open(password);
      opened.push(store);
      return store;
    }

    it('load of an account never saved gives undefined', async () => {
      assert.equal(await open().load('nobody'), undefined);
    });

    it('round-trips every field, secrets as Secrets', async () => {
      const record = fullRecord('alice');
      await open().save(record);
      for (const store of [opened[0] as CredentialStore, open()]) {
        const loaded = await store.load('alice');
        assert.ok(loaded);
        for (const s of [
          loaded.clientSecret,
          loaded.refreshToken,
          loaded.previousRefreshToken,
          loaded.registration?.registrationAccessToken,
        ]) {
          assert.ok(s instanceof Secret);
        }
        assert.deepEqual(revealed(loaded), revealed(record));
      }
    });

    it('round-trips a minimal record: fields left out, or undefined, are absent after load', async () => {
      const record: AccountRecord = {
        version: 1,
        account: 'bob',
        issuer: 'https://issuer.example',
        clientId: 'public-client',
        clientSecret: undefined,
        scope: [],
        createdAt: '2025-01-01T00:00:00.000Z',
        updatedAt: '2025-01-01T00:00:00.000Z',
      };
      await open().save(record);
      const loaded = await open().load('bob');
      assert.deepEqual(loaded, {
        version: 1,
        account: 'bob',
        issuer: 'https://issuer.example',
        clientId: 'public-client',
        scope: [],
        createdAt: '2025-01-01T00:00:00.000Z',
        updatedAt: '2025-01-01T00:00:00.000Z',
      });
    });

    it('save replaces the record, as every store instance then sees', async () => {
      const store = open();
      await store.save(fullRecord('alice'));
      const rotated: AccountRecord = {
        ...fullRecord('alice'),
        previousRefreshToken: new Secret('refresh-token-alice-0a1b2c3d4e5f'),
        refreshToken: new Secret('rotated-refresh-token-alice'),
        needsLogin: undefined,
        updatedAt: '2025-02-01T00:00:00.000Z',
      };
      await store.save(rotated);
      assert.deepEqual(revealed(await store.load('alice')), revealed(rotated));
      const fresh = await open().load('alice');
      assert.equal(fresh?.refreshToken?.reveal(), 'rotated-refresh-token-alice');
      assert.equal(fresh?.needsLogin, undefined);
      assert.ok(!('needsLogin' in (fresh as object)));
    });

    it('reserveSave, where an adapter has it: a reserved save is a save; a released one changes nothing', async () => {
      const store = open();
      if (store.reserveSave === undefined) return;
      await store.save(fullRecord('alice'));
      const rotated: AccountRecord = {
        ...fullRecord('alice'),
        refreshToken: new Secret('reserved-refresh-token-alice'),
      };
      await store.withLock('alice', async () => {
        const unused = await store.reserveSave?.('alice');
        await unused?.release();
        await unused?.release();
        assert.equal(
          (await open().load('alice'))?.refreshToken?.reveal(),
          'refresh-token-alice-0a1b2c3d4e5f',
        );
        const room = await store.reserveSave?.('alice');
        await room?.save(rotated);
        await room?.release();
      });
      assert.deepEqual(revealed(await open().load('alice')), revealed(rotated));
    });

    it('keeps accounts apart', async () => {
      const store = open();
      await store.save(fullRecord('alice'));
      await store.save(fullRecord('bob'));
      assert.deepEqual(revealed(await open().load('alice')), revealed(fullRecord('alice')));
      assert.deepEqual(revealed(await open().load('bob')), revealed(fullRecord('bob')));
    });

    it('fails with STORE_DECRYPT_FAILED and the fixed message on a wrong password', async () => {
      await open().save(fullRecord('alice'));
      await assert.rejects(open(async () => new Secret('wrong password')).load('alice'), {
        code: 'STORE_DECRYPT_FAILED',
        message: decryptFailedMessage('alice'),
      });
      assert.equal((await open().load('alice'))?.refreshToken?.reveal(), 'refresh-token-alice-0a1b2c3d4e5f');
    });

    it('hands out records that print no secret', async () => {
      const record = fullRecord('alice');
      await open().save(record);
      const loaded = await open().load('alice');
      const printed = `${inspect(loaded, { depth: 10 })}${JSON.stringify(loaded)}`;
      for (const s of secretsOf(record)) assert.ok(!printed.includes(s), 'a secret printed');
    });

    it('refuses to save a secret held as a plain string', async () => {
      const record = { ...fullRecord('alice'), refreshToken: 'plain' as unknown as Secret };
      await assert.rejects(open().save(record), { code: 'STORE_INVALID' });
      assert.equal(await open().load('alice'), undefined);
    });

    it('withLock passes the value through and releases the lock however fn ends', async () => {
      const store = open();
      assert.equal(await store.withLock('alice', async () => 'value'), 'value');
      await assert.rejects(
        store.withLock('alice', async () => {
          throw new Error('fn failed');
        }),
        { message: 'fn failed' },
      );
      assert.equal(await open().withLock('alice', async () => 1, { timeoutMs: 0 }), 1);
    });

    it('withLock excludes other store instances, times out with LOCK_TIMEOUT, and leaves other accounts free', async () => {
      const a = open();
      const b = open();
      let release!: () => void;
      const holding = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const held = a.withLock('alice', async () => {
        entered();
        await holding;
      });
      await inside;
      await assert.rejects(
        b.withLock('alice', async () => undefined, { timeoutMs: 50 }),
        { code: 'LOCK_TIMEOUT' },
      );
      assert.equal(await b.withLock('bob', async () => 'free', { timeoutMs: 0 }), 'free');
      const waiting = b.withLock('alice', async () => 'after', { timeoutMs: 5000 });
      release();
      await held;
      assert.equal(await waiting, 'after');
    });

    it('withLock never lets two holders overlap within one process', async () => {
      let holders = 0;
      let maxHolders = 0;
      const section = async () => {
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        await new Promise((resolve) => setTimeout(resolve, 1));
        holders--;
      };
      const stores = [open(), open(), open()];
      await Promise.all(
        stores.flatMap((s) =>
          Array.from({ length: 8 }, () => s.withLock('alice', section, { timeoutMs: 20_000 })),
        ),
      );
      assert.equal(maxHolders, 1);
    });

    it('withLock serializes load-modify-save across processes: a counter kept in the record stays exact', async () => {
      await open().save({ ...fullRecord('alice'), scope: ['0'] });
      const running = Array.from({ length: 3 }, () =>
        spawnWorker(fixture, { task: 'count', account: 'alice', count: 15 }),
      );
      workers.push(...running);
      for (const exit of await Promise.all(running.map((w) => w.exited)))
        assert.equal(exit.code, 0, exit.stderr);
      const record = await open().load('alice');
      assert.deepEqual(record?.scope, ['45']);
      assert.equal(record?.refreshToken?.reveal(), 'refresh-token-alice-0a1b2c3d4e5f');
    });

    it('withLock is released when the process holding it is killed with SIGKILL', async () => {
      const worker = spawnWorker(fixture, { task: 'hold', account: 'alice' });
      workers.push(worker);
      assert.deepEqual(await worker.message, { locked: true });
      const store = open();
      await assert.rejects(
        store.withLock('alice', async () => undefined, { timeoutMs: 20 }),
        {
          code: 'LOCK_TIMEOUT',
        },
      );
      worker.child.kill('SIGKILL');
      const started = Date.now();
      await store.withLock('alice', async () => undefined, { timeoutMs: 5000 });
      assert.ok(Date.now() - started < 2000, 'the lock came back soon after the kill');
    });

    it('close is idempotent', async () => {
      const store = open();
      await store.save(fullRecord('alice'));
      await store.close();
      await store.close();
    });
  });
}
