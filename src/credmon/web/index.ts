export { readClientSecretFile } from './client-secret.js';
export {
  type IssuerDocuments,
  issuerDiscovery,
  readIssuerJwks,
  readIssuersJwks,
  sameIssuer,
  servedLocalProviders,
} from './issuer-documents.js';
export { signalCredmonPid } from './notify.js';
export { type IndexPage, type ProviderCard, renderIndexPage } from './pages.js';
export { type LoginRoutesOptions, registerLoginRoutes, routePrefix, splitScopes } from './routes.js';
export { createLoginServer, type LoginServer, type LoginServerOptions } from './server.js';
export { loadOrCreateSessionKey, SESSION_KEY_FILE } from './session-key.js';
export {
  createSessionStore,
  MAX_SESSIONS,
  PENDING_LOGIN_MS,
  readCookie,
  SESSION_COOKIE,
  SESSION_IDLE_MS,
  SESSION_MAX_AGE_MS,
  type SessionStore,
  sessionCookie,
} from './sessions.js';
export { LOGIN_LOCK_WAIT_MS, lockForLogin, removeKeyFile, storeLogin } from './store-tokens.js';
