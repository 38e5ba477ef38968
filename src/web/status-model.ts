/**
 * What a long-running service (the `daemon` today, the credential monitor next) shows about the
 * credentials it keeps: one snapshot, built by the service, read by the status page, `/metrics`,
 * `/api/status`, the warnings and `tokenwarden status`. It holds no secret by construction: nothing in
 * it is a token, a password or a client secret, only names, paths, times and error messages that were
 * already redacted where they were made.
 *
 * Times are epoch seconds (numbers), so the snapshot is the same in memory and as JSON.
 */

/** The state of one kept credential (a `[token]` of config.ini for the daemon). */
export type CredentialState =
  /** Valid, and not yet due. */
  | 'ok'
  /** Due or being renewed now. */
  | 'renewing'
  /** The last attempt failed; retried with backoff. */
  | 'failing'
  /** The issuer refused the refresh token: a human must log in again. */
  | 'needs-login'
  /** No valid token on disk yet. */
  | 'missing'
  /** Its configuration is wrong; nothing is attempted until it is fixed. */
  | 'broken';

export const CREDENTIAL_STATES: readonly CredentialState[] = [
  'ok',
  'renewing',
  'failing',
  'needs-login',
  'missing',
  'broken',
];

export interface StatusError {
  /** Stable error code (TokenwardenError.code). */
  code: string;
  message: string;
  /** What to do about it, when known. */
  hint?: string | undefined;
}

/** One kept credential: for the daemon, one `[token]` section. */
export interface CredentialRow {
  /** Unique within the snapshot: the token name (daemon), `user/service` (credmon). */
  id: string;
  /** What it belongs to: the account (daemon), the user (credmon). */
  group: string;
  /** Where it is written. */
  path?: string | undefined;
  state: CredentialState;
  /** `iat` and `exp` of the token now on disk, when there is a valid one. */
  issuedAt?: number | undefined;
  expiresAt?: number | undefined;
  /** When it was last renewed successfully. */
  lastRenewal?: number | undefined;
  /** When the next attempt is scheduled (absent while none is: needs-login, broken). */
  nextRenewalAt?: number | undefined;
  /** The last failure, while the credential is failing (cleared by a success). */
  lastError?: StatusError | undefined;
  /** Since when it has been failing without a success in between. */
  failingSince?: number | undefined;
  /** Consecutive failed attempts. */
  failures?: number | undefined;
}

/** What the credentials of one group share: for the daemon, an `[account]`. */
export interface GroupStatus {
  name: string;
  /** `refresh` or `client_credentials` (daemon); the provider kind (credmon). */
  kind: string;
  issuer?: string | undefined;
  /** When the stored refresh token was obtained (its age is now − this), when known. */
  refreshTokenIssuedAt?: number | undefined;
  /** When the issuer said the refresh token expires, when it said so. */
  refreshTokenExpiresAt?: number | undefined;
  /** Set while the group cannot work at all (needs login, no credential, does not decrypt). */
  problem?: StatusError | undefined;
  /** Since when its issuer has failed without a success in between (network, timeout, 5xx, 429). */
  issuerFailingSince?: number | undefined;
}

export type WarningKind =
  /** A refresh token was refused: someone must log in again. */
  | 'needs-login'
  /** The issuer has failed for longer than a token has left to live: it will expire before recovery. */
  | 'issuer-outage'
  /** The refresh token itself is near the expiry the issuer gave it. */
  | 'refresh-token-expiring';

export interface StatusWarning {
  kind: WarningKind;
  group: string;
  /** The credential it is about, when it is about one. */
  id?: string | undefined;
  message: string;
  /** When the condition started (epoch seconds). */
  since: number;
}

export interface StatusSnapshot {
  /** Which service made it. */
  service: 'daemon' | 'credmon';
  /** When the snapshot was taken (epoch seconds). */
  generatedAt: number;
  /** When the service started (epoch seconds). */
  startedAt: number;
  /** The configuration it runs (a path), and when it was (re)loaded. */
  configFile?: string | undefined;
  configLoadedAt?: number | undefined;
  /** The last reload that was refused, while the previous configuration keeps running. */
  configError?: StatusError | undefined;
  rows: CredentialRow[];
  groups: GroupStatus[];
  warnings: StatusWarning[];
}
