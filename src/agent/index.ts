export { type LoadedAccount, loadAccount } from './accounts.js';
export { type CachedToken, TokenCache } from './cache.js';
export { agentRequest } from './client.js';
export { clientSocketPath, newSocketPath } from './paths.js';
export type { AgentReply, AgentRequest, FailureReply, SuccessReply } from './protocol.js';
export { type Agent, type AgentOptions, createAgent } from './server.js';
export { type TokenQuery, TokenService } from './token-service.js';
