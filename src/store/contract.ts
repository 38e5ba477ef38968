import type { AccountRecord } from './record.js';

/**
 * The credential store contract, which every adapter (encrypted files, PostgreSQL) implements and
 * test/store/contract.ts checks. An adapter keeps one record per account, encrypted at rest, and
 * serializes refreshes of one account across every process (and host) that shares it: issuers with
 * refresh-token reuse detection revoke the whole grant when one refresh token is used twice
 * (docs/architecture.md invariant 2).
 *
 * Records hold their secrets as `Secret`s: an adapter reveals them only to encrypt them, and hands back
 * `Secret`s again, so a loaded record can be logged without leaking anything.
 */
export interface CredentialStore {
  /**
   * Decrypted record of the account, or undefined when none exists.
   *
   * Fails with STORE_DECRYPT_FAILED (one fixed message) when the password is wrong or the stored bytes
   * were altered, STORE_INVALID when they decrypt to something this version cannot read, FILE_IO /
   * FILE_UNSAFE (files) when the storage cannot be read safely. It never returns a record that did not
   * authenticate.
   */
  load(account: string): Promise<AccountRecord | undefined>;

  /**
   * Durably and atomically replaces the account's record (`record.account` says which); when this
   * resolves, a crash cannot lose it, and at no time can a reader see a partial record. Callers that
   * read-modify-write hold `withLock` around the load and the save.
   *
   * Every field round-trips exactly: a field left out (or undefined) is absent after `load`.
   */
  save(record: AccountRecord): Promise<void>;

  /**
   * Secures, before a refresh grant, what `save` of the account's next record needs (disk space for
   * the files adapter), so that a rotated refresh token can be stored even when the storage fills up
   * meanwhile. Call it holding `withLock`; fails (FILE_IO, FILE_UNSAFE) when the record could not be
   * saved now, so that no grant is spent on it. Adapters whose saves cannot run out of room may omit it.
   */
  reserveSave?(account: string): Promise<SaveReservation>;

  /**
   * Runs fn holding the account's exclusive refresh lock, across processes (two refreshes of one
   * credential never overlap). The lock is released however `fn` ends, and also when the process dies.
   * Waits at most `timeoutMs` (adapter default when absent) or until `signal` aborts, then fails with
   * LOCK_TIMEOUT. Not reentrant: calling it again for the same account inside `fn` waits for itself.
   */
  withLock<T>(
    account: string,
    fn: () => Promise<T>,
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<T>;

  /** Releases resources (cached keys, connections); idempotent. The store is unusable afterwards. */
  close(): Promise<void>;
}

/** Room for one record, taken by `reserveSave`. Each of `save` and `release` ends it. */
export interface SaveReservation {
  /** `CredentialStore.save` into the room reserved: the same guarantees, and no ENOSPC while it fits. */
  save(record: AccountRecord): Promise<void>;
  /** Gives the room back unused; does nothing after `save`. */
  release(): Promise<void>;
}
