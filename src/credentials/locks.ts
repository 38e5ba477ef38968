import { join } from 'node:path';
import type { AccountConfig } from '../config/index.js';
import { lockFileBeside, withLock } from '../files/index.js';
import { type CredentialStore, DEFAULT_LOCK_TIMEOUT_MS } from '../store/index.js';

export interface AccountLockOptions {
  /** How long to wait for another holder before LOCK_TIMEOUT (default: the store's, 120 s). */
  timeoutMs?: number;
  /** Stops waiting early (e.g. the run's deadline); also ends in LOCK_TIMEOUT. */
  signal?: AbortSignal | undefined;
}

/**
 * The refresh lock of every kind of account (docs/architecture.md invariants 2 and 10): one grant per
 * credential at a time, across processes.
 */
export interface AccountLocks {
  /** Runs fn holding the account's lock, released however fn ends. Not reentrant. */
  withLock<T>(account: AccountConfig, fn: () => Promise<T>, opts?: AccountLockOptions): Promise<T>;
}

/**
 * The lock of a client-credentials account, which has no credential file for a lock to follow:
 * `STATE_DIR/locks/NAME.lock`, where every version of tokenwarden has taken it.
 */
export function clientCredentialsLockFile(stateDir: string, account: string): string {
  return join(stateDir, 'locks', `${account}.lock`);
}

/**
 * Where an account's lock file is: beside the real path of its credential file for a refresh-token
 * account (lockFileBeside: two configs or state directories sharing one credential_file serialize), in
 * the state directory for a client-credentials account.
 */
export function accountLockFile(account: AccountConfig, stateDir: string): string {
  return account.kind === 'refresh'
    ? lockFileBeside(account.credentialFile)
    : clientCredentialsLockFile(stateDir, account.name);
}

/**
 * The locks of a config's accounts. A refresh-token account's lock is its credential store's
 * (`CredentialStore.withLock`, which follows the credential); a client-credentials account's is a lock
 * file of its own in the state directory: the store holds nothing of it, so no record is made up to
 * borrow the store's lock. The files are the ones earlier versions locked, so old and new processes
 * still exclude each other.
 */
export function createAccountLocks(options: { store: CredentialStore; stateDir: string }): AccountLocks {
  return {
    withLock(account, fn, opts = {}) {
      if (account.kind === 'refresh') {
        return options.store.withLock(account.name, fn, {
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
          ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        });
      }
      return withLock(
        clientCredentialsLockFile(options.stateDir, account.name),
        {
          timeoutMs: opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        fn,
      );
    },
  };
}
