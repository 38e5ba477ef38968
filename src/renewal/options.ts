import type { AccountConfig, RenewerConfig } from '../config/index.js';
import type { ClientCache } from '../credentials/index.js';
import type { TokenwardenError } from '../errors.js';
import type { Secret } from '../secret.js';
import type { CredentialStore } from '../store/index.js';
import type { TokenOutcome } from './outcome.js';

export interface RenewOptions {
  config: RenewerConfig;
  /** Holds the refresh-token accounts' credentials. */
  store: CredentialStore;
  /** Client secret of a client-credentials account (inline or from `client_secret_file`). */
  clientSecret: (account: AccountConfig & { kind: 'client_credentials' }) => Promise<Secret>;
  clock?: () => number;
  fetch?: typeof fetch;
  /** The run's deadline: no new work starts after it fires; requests in flight and lock waits end. */
  signal?: AbortSignal;
  /**
   * Asked to stop (SIGTERM): no new work starts after it fires, but a request in flight finishes and is
   * persisted (its rotated refresh token saved, its token file written). The tokens not done fail with
   * `stopped` set.
   */
  stop?: AbortSignal;
  /** How many accounts are worked on at once (tokens of one account are always done one at a time). */
  concurrency?: number;
  /** Renew even tokens that are still fresh. */
  force?: boolean;
  /** Only these tokens (names); all when empty. */
  only?: readonly string[];
  /** Accounts that cannot be used in this run (e.g. an unreadable password file): their tokens fail. */
  unusable?: ReadonlyMap<string, TokenwardenError>;
  /**
   * Identity of each refresh account's password file, taken before its password was read. With it, the
   * verdict of a decryption is remembered and reused while neither file changes; without it, an account
   * whose tokens are all fresh is not checked.
   */
  passwordIdentities?: ReadonlyMap<string, string>;
  /** Called as each token finishes (progress output, metrics). */
  onOutcome?: (outcome: TokenOutcome) => void;
  /**
   * OAuth clients to use, kept by the caller across runs (a daemon calling renewTokens repeatedly
   * discovers each issuer once); a cache for this run alone when absent.
   */
  clients?: ClientCache;
}
