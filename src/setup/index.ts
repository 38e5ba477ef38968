export {
  checkIssuerUrl,
  checkSetupOptions,
  createAccount,
  type LoginFlow,
  type SetupInputNames,
  type SetupInputs,
  type SetupMode,
  type SetupOptions,
  type SetupResult,
} from './create-account.js';
