export { mapLimit } from './map-limit.js';
export type { RenewOptions } from './options.js';
export type { AccountProblem, RenewResult, TokenOutcome, TokenResult } from './outcome.js';
export { type Candidate, minLifetimeWarning, planAccounts, planToken, splitPlan } from './plan.js';
export { isNoWorse, type RenewReason, renewReason, type Wanted } from './policy.js';
export { renewTokens } from './renew.js';
export {
  type AccountStatusFile,
  mergeTokenStatus,
  readAccountStatus,
  statusFile,
  type TokenState,
  type TokenStatus,
  updateAccountStatus,
} from './status.js';
