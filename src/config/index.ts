export {
  ACCOUNT_OPTIONS,
  DEFAULT_CONFIG_PATH,
  DEFAULT_MIN_LIFETIME,
  DEFAULT_ROOT_STATE_DIR,
  DEFAULT_SECTION_OPTIONS,
  DEFAULT_TIMEOUT_SECONDS,
  DEFAULT_TOKEN_MODE,
  DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
  OSG_CONFIG_PATH,
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
  missingConfigMessage,
  readClientSecretFile,
  readPasswordFile,
} from './load.js';
export {
  formatRemedy,
  type LoginHintContext,
  missingCredentialHint,
  missingCredentialRemedy,
  type Remedy,
  type RemedyHint,
} from './login-hint.js';
export { findOidcAgentDir, oidcAgentDirCandidates } from './oidc-agent-dir.js';
export { accountOrError, type ResolveContext, type ResolveOptions, resolveRenewerConfig } from './renewer.js';
export type {
  AccountBase,
  AccountConfig,
  BrokenToken,
  ClientCredentialsAccountConfig,
  ConfigProblem,
  RefreshAccountConfig,
  RenewerConfig,
  TokenConfig,
  WebhookConfig,
} from './types.js';
