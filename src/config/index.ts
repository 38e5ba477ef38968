export {
  ACCOUNT_OPTIONS,
  DEFAULT_CONFIG_PATH,
  DEFAULT_MIN_LIFETIME,
  DEFAULT_ROOT_STATE_DIR,
  DEFAULT_SECTION_OPTIONS,
  DEFAULT_TIMEOUT_SECONDS,
  DEFAULT_TOKEN_MODE,
  TOKEN_OPTIONS,
} from './defaults.js';
export { configError, configFailure, configPlace } from './errors.js';
export {
  DEFAULT_SECTION,
  type GetOptionOptions,
  getOption,
  type IniDocument,
  type IniEntry,
  type IniSection,
  type IniValue,
  parseIni,
} from './ini.js';
export {
  type ConfigWarning,
  checkAccountFiles,
  findConfigPath,
  type LoadRenewerConfigOptions,
  loadRenewerConfig,
  MAX_CONFIG_FILE_BYTES,
  readClientSecretFile,
  readPasswordFile,
} from './load.js';
export { type ResolveContext, resolveRenewerConfig } from './renewer.js';
export type {
  AccountBase,
  AccountConfig,
  ClientCredentialsAccountConfig,
  RefreshAccountConfig,
  RenewerConfig,
  TokenConfig,
} from './types.js';
