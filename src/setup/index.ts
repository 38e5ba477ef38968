export {
  createAccount,
  type LoginFlow,
  type SetupMode,
  type SetupOptions,
  type SetupResult,
} from './create-account.js';
