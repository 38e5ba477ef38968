import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists, withLock, writeFileAtomic } from '../files/index.js';
import type { Secret } from '../secret.js';
import type { CredentialStore } from './contract.js';
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
  /** Path of the account's lock file; kept forever, never deleted. */
  lockFile: (account: string) => string;
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

  return {
    async load(account) {
      ensureOpen();
      const text = await readFileIfExists(opts.credentialFile(account), { maxBytes: MAX_CREDENTIAL_BYTES });
      if (text === undefined) return undefined;
      const envelope = parseEnvelope(text, account);
      const { key } = await keyFor(account, envelope.kdf);
      ensureOpen();
      return openRecord(envelope, key, account);
    },

    async save(record: AccountRecord) {
      ensureOpen();
      const path = opts.credentialFile(record.account);
      const { key, kdf } = await keyFor(record.account, undefined);
      // close() zeroes cached keys: sealing with one would write a file nobody can open.
      ensureOpen();
      const bytes = sealRecord(record, key, kdf);
      const dir = dirname(path);
      try {
        // Only creates what is missing; an existing directory keeps the mode its admin gave it.
        if (!madeDirs.has(dir)) await mkdir(dir, { recursive: true, mode: 0o700 });
        madeDirs.add(dir);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new TokenwardenError('FILE_IO', `cannot create the credential directory ${dir}: ${reason}`, {
          cause: err,
        });
      }
      await writeFileAtomic(path, bytes, { mode: 0o600 });
    },

    async withLock(account, fn, lockOpts = {}) {
      ensureOpen();
      return withLock(
        opts.lockFile(account),
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
