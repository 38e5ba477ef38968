export {
  checkOidcAgentAccountName,
  findOidcAgentAccountFile,
  type OidcAgentAccount,
  readOidcAgentAccount,
} from './account-file.js';
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  type OidcAgentIpcEvent,
  type OidcAgentRequestHandler,
  type ServeOidcAgentOptions,
  serveOidcAgentConnection,
} from './ipc-crypt.js';
export {
  createOidcAgentIpcSession,
  DEFAULT_MAX_MESSAGE_BYTES,
  type OidcAgentIpcRejection,
  type OidcAgentIpcSession,
  type OidcAgentIpcSessionOptions,
  type OidcAgentIpcState,
  type OidcAgentIpcStep,
} from './ipc-session.js';
export { loadSodium, type Sodium } from './sodium.js';
