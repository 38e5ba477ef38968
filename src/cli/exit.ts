import type { ErrorCode } from '../errors.js';

/**
 * Exit statuses, in one table. 0 success; 1 some work failed (tokens not renewed, issuer errors);
 * 2 the command line was wrong; 3 the configuration or a file it names is wrong; 4 a credential cannot
 * be used (wrong password, needs a new login); 5 the issuer could not be reached or answered badly.
 */
export const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  CONFIG_NOT_FOUND: 3,
  CONFIG_INVALID: 3,
  PASSWORD_FILE: 3,
  FILE_UNSAFE: 3,
  STORE_NOT_FOUND: 4,
  STORE_DECRYPT_FAILED: 4,
  STORE_INVALID: 4,
  NEEDS_LOGIN: 4,
  LOGIN_DENIED: 4,
  LOGIN_TIMEOUT: 4,
  TOKEN_INVALID: 1,
  TOKEN_NOT_FOUND: 1,
  FILE_IO: 1,
  LOCK_TIMEOUT: 1,
  RENEW_FAILED: 1,
  AGENT_START: 1,
  OAUTH_ERROR: 5,
  ISSUER_RESPONSE: 5,
  NETWORK: 5,
  TIMEOUT: 5,
  INTERNAL: 70,
};
