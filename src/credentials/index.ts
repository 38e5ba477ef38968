export { asError, credentialError, needsLoginError, noCredentialYet } from './account-errors.js';
export { ClientCache, clientSpecOf } from './client-cache.js';
export { expiryOf } from './expiry.js';
export {
  type AccountLockOptions,
  type AccountLocks,
  accountLockFile,
  clientCredentialsLockFile,
  createAccountLocks,
} from './locks.js';
export { type MintOptions, mintToken } from './mint.js';
export {
  type RefreshArgs,
  type RefreshResult,
  refreshWithRotation,
  SAVE_RETRY_DELAYS_MS,
} from './refresh.js';
export {
  combineRefreshTokenNews,
  MAX_DECODED_REFRESH_TOKEN_LENGTH,
  MAX_REFRESH_TOKEN_LIFETIME_SECONDS,
  nextRefreshTokenExpiresAt,
  type RefreshTokenExpiry,
  type RefreshTokenNews,
  refreshTokenExpiry,
} from './refresh-expiry.js';
export { openSession, type Session, type SessionOptions } from './session.js';
