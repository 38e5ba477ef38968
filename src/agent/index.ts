export { type LoadedAccount, loadAccount } from './accounts.js';
export { type CachedToken, TokenCache } from './cache.js';
export { agentRequest } from './client.js';
export { type AgentLogger, DEFAULT_LOG_MAX_BYTES, type FileLog, formatLogLine, openFileLog } from './log.js';
export { clientSocketPath, newSocketPath } from './paths.js';
export type { AgentReply, AgentRequest, FailureReply, SuccessReply } from './protocol.js';
export { type Agent, type AgentOptions, createAgent, DEFAULT_DRAIN_MS } from './server.js';
export { type TokenQuery, TokenService } from './token-service.js';
