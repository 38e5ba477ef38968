import { formatHint, type Remedy } from './remedy.js';

export { formatHint, formatRemedy, type Remedy, type RemedyCommand } from './remedy.js';

/**
 * The error model (after jose's `util/errors`): one base class with a stable `code`, a message meant
 * for the user (never containing a secret), an optional `hint` saying what to do, the command that
 * fixes it as data (`remedy`), and `cause` kept for debugging. The CLI maps codes to exit statuses in
 * one table (src/cli/exit.ts).
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'PASSWORD_FILE'
  | 'STORE_NOT_FOUND'
  | 'STORE_DECRYPT_FAILED'
  | 'STORE_INVALID'
  | 'FILE_UNSAFE'
  | 'FILE_IO'
  | 'LOCK_TIMEOUT'
  | 'TOKEN_INVALID'
  | 'TOKEN_NOT_FOUND'
  | 'OAUTH_ERROR'
  | 'ISSUER_RESPONSE'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'NEEDS_LOGIN'
  | 'CREDENTIAL_LOST'
  | 'LOGIN_DENIED'
  | 'LOGIN_TIMEOUT'
  | 'RENEW_FAILED'
  | 'AGENT_START'
  | 'INTERNAL';

export interface TokenwardenErrorOptions {
  cause?: unknown;
  /**
   * What to do, for a person. With a `remedy`, the words that lead to its command line (`run` when
   * absent): the error's `hint` is then `HINT: COMMAND` (see formatHint).
   */
  hint?: string | undefined;
  /** The command that fixes it, as data (`setup`, `add`, `import-oidc-agent`…). */
  remedy?: Remedy | undefined;
  /** The HTTP status of the issuer's answer that caused it, when there was one. */
  httpStatus?: number | undefined;
  /** How long the issuer asked to wait before trying again (its Retry-After header, in seconds). */
  retryAfterSeconds?: number | undefined;
}

export class TokenwardenError extends Error {
  readonly code: ErrorCode;
  /** What to do, in words, the remedy's command line included: what every text shown to a person prints. */
  readonly hint: string | undefined;
  /** The command that fixes it, as data: a server gives it to its client, a UI may offer to run it. */
  readonly remedy: Remedy | undefined;
  /** The HTTP status of the issuer's answer, kept as data so a scheduler can decide to retry. */
  readonly httpStatus: number | undefined;
  /** The issuer's Retry-After (seconds from when the answer came), kept so a retry honours it. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: TokenwardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remedy = options.remedy;
    this.hint = formatHint(options.hint, options.remedy);
    this.httpStatus = options.httpStatus;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  override get name(): string {
    return 'TokenwardenError';
  }
}

export interface OAuthErrorOptions extends TokenwardenErrorOptions {
  /** Which request the issuer answered ('refresh', 'device flow', ...), for messages. */
  grant?: string | undefined;
  /** A message saying more than `issuer answered ERROR (DESCRIPTION)` (see explainOAuthError). */
  message?: string | undefined;
}

/**
 * An OAuth 2 error response from an issuer (RFC 6749 section 5.2), keeping `error` and
 * `error_description` so callers can branch on `invalid_grant`. Made only by the oidc module, which has
 * already cut every secret of the request out of both (an issuer may echo them).
 */
export class OAuthError extends TokenwardenError {
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly status: number | undefined;
  readonly grant: string | undefined;

  constructor(
    error: string,
    errorDescription: string | undefined,
    status: number | undefined,
    options: OAuthErrorOptions = {},
  ) {
    const text = errorDescription ? `${error} (${errorDescription})` : error;
    super(oauthErrorCode(error), options.message ?? `issuer answered ${text}`, {
      ...options,
      httpStatus: options.httpStatus ?? status,
    });
    this.error = error;
    this.errorDescription = errorDescription;
    this.status = status;
    this.grant = options.grant;
  }
}

/**
 * invalid_grant: the refresh token (or code) is no longer good, a new login is needed; access_denied:
 * the human (or the issuer's policy) refused the login. Both are answers about the credential (exit 4),
 * not a fault of the issuer.
 */
function oauthErrorCode(error: string): ErrorCode {
  if (error === 'invalid_grant') return 'NEEDS_LOGIN';
  if (error === 'access_denied') return 'LOGIN_DENIED';
  return 'OAUTH_ERROR';
}

export function isTokenwardenError(err: unknown): err is TokenwardenError {
  return err instanceof TokenwardenError;
}
