import { lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TokenwardenError } from '../errors.js';
import {
  checkPathSafe,
  lockFileBeside,
  readFileIfExists,
  reserveAtomicWrite,
  withLock,
  writeFileAtomic,
} from '../files/index.js';
import type { Secret } from '../secret.js';
import type { CredentialStore, SaveReservation } from './contract.js';
import type { AccountRecord } from './record.js';
import {
  createKdfParams,
  deriveKey,
  type KdfCost,
  type KdfParams,
  openRecord,
  parseEnvelope,
  sealRecord,
} from './seal.js';

export interface FileStoreOptions {
  /** Path of the account's encrypted record (one file per account). */
  credentialFile: (account: string) => string;
  /**
   * Path of the account's lock file; kept forever, never deleted. Default, and what every refresh-token
   * account should use: `.<name>.lock` beside the real path of its credential file (lockFileBeside), so
   * that two configs or state directories naming one credential file still exclude each other.
   */
  lockFile?: (account: string) => string;
  /**
   * The account's password. Asked only when a key must be derived: the first load or save of the
   * account in this process, or when the file on disk was sealed with another salt.
   */
  password: (account: string) => Promise<Secret>;
  /** Lower scrypt cost for new records, for tests and benchmarks only (default N=2^15, r=8, p=1). */
  kdf?: Partial<KdfCost>;
}

/** How long `withLock` waits for another process's refresh when the caller gives no timeout. */
export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;
/** A credential file is a few kilobytes; anything much larger is not ours. */
const MAX_CREDENTIAL_BYTES = 1024 * 1024;
/**
 * Room reserved for the next record: twice the current one (a rotated refresh token may be longer)
 * plus slack, and never less than this.
 */
const MIN_RESERVATION_BYTES = 16 * 1024;

interface CachedKey {
  kdf: KdfParams;
  key: Buffer;
}

/**
 * The embedded credential store: each account's record sealed (see seal.ts) in its own file, written
 * atomically and durably with mode 0600 in a 0700 directory, and an flock'ed lock file per account.
 *
 * The key is derived once per account per process and kept, with its salt, in memory only: a save
 * re-seals under the same salt and key with a fresh IV, so rotating a refresh token costs no KDF run.
 * A record saved before any load of it gets a fresh salt.
 */
export function createFileStore(opts: FileStoreOptions): CredentialStore {
  const keys = new Map<string, Promise<CachedKey>>();
  // Directories made (or found) by this store: a rotation per token should not cost a mkdir each.
  const madeDirs = new Set<string>();
  let closed = false;

  function ensureOpen(): void {
    if (closed) throw new TokenwardenError('INTERNAL', 'the credential store was used after close()');
  }

  /** The cached key when it matches `kdf` (or any cached key when `kdf` is absent), else a new one. */
  async function keyFor(account: string, kdf: KdfParams | undefined): Promise<CachedKey> {
    const pending = keys.get(account);
    if (pending !== undefined) {
      const cached = await pending.catch(() => undefined);
      if (cached !== undefined && (kdf === undefined || sameKdf(cached.kdf, kdf))) return cached;
    }
    const params = kdf ?? createKdfParams(opts.kdf);
    const derived = opts
      .password(account)
      .then(async (password) => ({ kdf: params, key: await deriveKey(password, params) }));
    keys.set(account, derived);
    derived.catch(() => {
      if (keys.get(account) === derived) keys.delete(account);
    });
    return derived;
  }

  /** The record sealed under the account's cached key (derived on first use), its directory made. */
  async function seal(record: AccountRecord): Promise<Uint8Array> {
    const { key, kdf } = await keyFor(record.account, undefined);
    // close() zeroes cached keys: sealing with one would write a file nobody can open.
    ensureOpen();
    const bytes = sealRecord(record, key, kdf);
    await ensureDirectory(dirname(opts.credentialFile(record.account)));
    return bytes;
  }

  async function ensureDirectory(dir: string): Promise<void> {
    if (madeDirs.has(dir)) return;
    try {
      // Only creates what is missing; an existing directory keeps the mode its admin gave it.
      await checkPathSafe(dir, 'write');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      madeDirs.add(dir);
    } catch (err) {
      if (err instanceof TokenwardenError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new TokenwardenError('FILE_IO', `cannot create the credential directory ${dir}: ${reason}`, {
        cause: err,
      });
    }
  }

  return {
    async load(account) {
      ensureOpen();
      const path = opts.credentialFile(account);
      await checkPathSafe(path, 'read');
      const text = await readFileIfExists(path, { maxBytes: MAX_CREDENTIAL_BYTES });
      if (text === undefined) return undefined;
      const envelope = parseEnvelope(text, account);
      const { key } = await keyFor(account, envelope.kdf);
      ensureOpen();
      return openRecord(envelope, key, account);
    },

    async save(record: AccountRecord) {
      ensureOpen();
      const bytes = await seal(record);
      await writeFileAtomic(opts.credentialFile(record.account), bytes, { mode: 0o600 });
    },

    async reserveSave(account: string): Promise<SaveReservation> {
      ensureOpen();
      const path = opts.credentialFile(account);
      await ensureDirectory(dirname(path));
      const current = await lstat(path).then(
        (st) => st.size,
        () => 0,
      );
      const room = await reserveAtomicWrite(path, Math.max(MIN_RESERVATION_BYTES, 2 * current + 4096), {
        mode: 0o600,
      });
      return {
        async save(record) {
          if (record.account !== account) {
            await room.release();
            throw new TokenwardenError('INTERNAL', `a reservation for ${account} saved ${record.account}`);
          }
          let bytes: Uint8Array;
          try {
            bytes = await seal(record);
          } catch (err) {
            await room.release();
            throw err;
          }
          await room.write(bytes);
        },
        release: () => room.release(),
      };
    },

    async withLock(account, fn, lockOpts = {}) {
      ensureOpen();
      const credentialFile = opts.credentialFile(account);
      const beside = lockFileBeside(credentialFile);
      const lockPath = opts.lockFile?.(account) ?? beside;
      // The lock beside the credential needs its directory: made here, with the credential's message.
      if (lockPath === beside) await ensureDirectory(dirname(credentialFile));
      return withLock(
        lockPath,
        { timeoutMs: lockOpts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, signal: lockOpts.signal },
        fn,
      );
    },

    async close() {
      if (closed) return;
      closed = true;
      const cached = await Promise.allSettled(keys.values());
      keys.clear();
      for (const entry of cached) if (entry.status === 'fulfilled') entry.value.key.fill(0);
    },
  };
}

function sameKdf(a: KdfParams, b: KdfParams): boolean {
  return a.name === b.name && a.N === b.N && a.r === b.r && a.p === b.p && a.salt.equals(b.salt);
}
