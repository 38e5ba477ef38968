import type { BrokenToken, TokenConfig } from '../config/index.js';
import type { RefreshTokenNews } from '../credentials/refresh-expiry.js';
import type { TokenwardenError } from '../errors.js';
import type { RenewReason } from './policy.js';

export type TokenResult = 'renewed' | 'fresh' | 'failed';

export interface TokenOutcome {
  token: string;
  account: string;
  path: string;
  result: TokenResult;
  reason?: RenewReason | undefined;
  /** `exp` of the token written, or of the fresh one on disk (epoch seconds). */
  expiresAt?: number | undefined;
  /**
   * `iat` of the token written, or of the fresh one on disk (epoch seconds), when it has one: with
   * `expiresAt`, what a scheduler needs to time the next renewal without reading the file again.
   */
  issuedAt?: number | undefined;
  /**
   * What the refresh grants of the account's session said of its refresh token, up to this token:
   * absent when none was made (client credentials, a fresh token, a failure before the grant). A daemon
   * keeps the latest per account (credentials/refresh-expiry.ts `nextRefreshTokenExpiresAt`).
   */
  refreshTokenNews?: RefreshTokenNews | undefined;
  error?: TokenwardenError | undefined;
  /** Failed because its section (or its account's) in config.ini is broken. */
  broken?: boolean | undefined;
  /** Not attempted because the run was asked to stop (SIGTERM, SIGINT). */
  stopped?: boolean | undefined;
  /** Something that works but should be fixed (a min_lifetime that renews on every run). */
  warning?: string | undefined;
}

/** An account that cannot renew, found while none of its tokens was due (so no token failed for it). */
export interface AccountProblem {
  account: string;
  error: TokenwardenError;
}

export interface RenewResult {
  /** One per selected token, broken ones included, in file order. */
  outcomes: TokenOutcome[];
  /** Accounts known to be unable to renew whose tokens are all still fresh. */
  accounts: AccountProblem[];
}

export function outcome(
  token: TokenConfig,
  result: TokenResult,
  extra: Partial<TokenOutcome> = {},
): TokenOutcome {
  return { token: token.name, account: token.account, path: token.tokenPath, result, ...extra };
}

/** The outcome of a token that config.ini breaks (its section, or its account's). */
export function brokenOutcome(b: BrokenToken): TokenOutcome {
  return {
    token: b.name,
    account: b.account ?? '',
    path: b.tokenPath ?? '',
    result: 'failed',
    error: b.error,
    broken: true,
  };
}
