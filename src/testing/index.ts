export { RETRY_AFTER_SECONDS, SLOW_FAULT_MS, TEST_ISSUER_FAULTS, type TestIssuerFault } from './faults.js';
export { startTestIssuer, type TestIssuer } from './issuer.js';
export type { TestIssuerOptions } from './options.js';
export type { TestIssuerStats } from './stats.js';
export { DEFAULT_AUDIENCE, DEFAULT_GROUPS } from './wlcg.js';
