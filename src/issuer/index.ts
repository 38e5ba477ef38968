export { generateKeyFiles, type KeygenOptions } from './keygen.js';
export { createIssuerServer, type IssuerServer, type IssuerServerOptions } from './server.js';
