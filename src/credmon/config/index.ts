export { CONDOR_COMPAT_VERSION, METAKNOBS, PARAM_DEFAULTS } from './builtins.js';
export {
  type ConfigProblem,
  CredmonConfigError,
  DAEMON_NO_RESTART_EXIT,
  formatProblem,
} from './errors.js';
export { ExpandError, expandMacros, expandSelf, MAX_EXPANSION_DEPTH } from './expand.js';
export { type LogicalLine, splitLogicalLines } from './lex.js';
export { type LoadCredmonConfigOptions, type LoadedCredmonConfig, loadCredmonConfig } from './load.js';
export {
  CONDOR_CONFIG_SEARCH,
  detectMacros,
  type LocateCondorConfigOptions,
  type LocatedConfig,
  locateCondorConfig,
} from './locate.js';
export {
  type CondorConfig,
  MAX_CONFIG_FILE_BYTES,
  MAX_CONFIG_FILES,
  MAX_INCLUDE_DEPTH,
  MAX_TOTAL_CONFIG_BYTES,
  parseCondorBool,
  type ReadCondorConfigOptions,
  readCondorConfig,
} from './read.js';
export {
  allProviders,
  CREDMON_DEFAULTS,
  type CredmonOverrides,
  findProviderConfig,
  LOCAL_KNOBS,
  type ParamSource,
  type ResolveOptions,
  resolveCredmonConfig,
  splitNames,
} from './resolve.js';
export { type MacroEntry, MacroTable } from './table.js';
export type {
  ClientProviderConfig,
  CredmonConfig,
  LocalProviderConfig,
  OAuth2ProviderConfig,
  ProviderConfig,
} from './types.js';
