export { isNoWorse, type RenewReason, renewReason, type Wanted } from './policy.js';
export { type RefreshArgs, refreshWithRotation } from './refresh.js';
export { mapLimit, type RenewOptions, renewTokens, type TokenOutcome, type TokenResult } from './renew.js';
export {
  listStatusFiles,
  readTokenStatus,
  statusFile,
  type TokenState,
  type TokenStatus,
  writeTokenStatus,
} from './status.js';
