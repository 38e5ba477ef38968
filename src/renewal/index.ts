export { isNoWorse, type RenewReason, renewReason, type Wanted } from './policy.js';
export { mapLimit, type RenewOptions, renewTokens, type TokenOutcome, type TokenResult } from './renew.js';
export {
  type AccountStatusFile,
  mergeTokenStatus,
  readAccountStatus,
  statusFile,
  type TokenState,
  type TokenStatus,
  updateAccountStatus,
} from './status.js';
