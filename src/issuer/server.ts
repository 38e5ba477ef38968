import type { FastifyReply } from 'fastify';
import { type Log, NO_LOG } from '../log/index.js';
import {
  DISCOVERY_PATH,
  discoveryDocument,
  JWKS_PATH,
  jwksDocument,
  type SigningKey,
} from '../signing/index.js';
import { createWebServer, type WebServerTls } from '../web/index.js';

export interface IssuerServerOptions {
  /**
   * The issuer URL (`iss`); discovery and JWKS are served under its path. When absent, the URL the
   * server listens on (e.g. `http://127.0.0.1:PORT`, for tests and trials with a port chosen at start).
   */
  issuer?: string | undefined;
  /** Published in the JWKS in this order (the key that signs first, then keys being rotated in or out). */
  keys: readonly SigningKey[];
  host?: string;
  port?: number;
  tls?: WebServerTls | undefined;
  /** Plain HTTP on a non-loopback address, behind a TLS-terminating proxy. */
  behindProxy?: boolean;
  log?: Log;
}

export interface IssuerServer {
  /** Starts listening; resolves to the base URL it listens on. */
  listen(): Promise<URL>;
  /** The issuer URL served (known once listening when none was given). */
  readonly issuer: string | undefined;
  close(): Promise<void>;
}

/** How long verifiers may cache the documents: scitokens-cpp refreshes keys every 10 minutes anyway. */
const CACHE_CONTROL = 'public, max-age=600';

/**
 * The public side of a local issuer: `<issuer path>/.well-known/openid-configuration` (whose `jwks_uri`
 * is `<issuer>/.well-known/jwks-uri`, the path HTCondor's credmon web app uses) and the JWKS itself,
 * plus `/healthz`. Nothing secret is served; the private keys never leave the process.
 */
export function createIssuerServer(options: IssuerServerOptions): IssuerServer {
  const log = options.log ?? NO_LOG;
  let issuer = options.issuer;
  const prefix = issuer === undefined ? '' : new URL(issuer).pathname.replace(/\/+$/, '');
  const server = createWebServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    ...(options.tls ? { tls: options.tls } : {}),
    allowPlain: options.behindProxy === true,
    log,
  });
  const jwks = JSON.stringify(jwksDocument(options.keys));
  const send = (body: () => string) => async (_request: unknown, reply: FastifyReply) =>
    reply.header('cache-control', CACHE_CONTROL).type('application/json; charset=utf-8').send(body());
  server.app.get(
    `${prefix}${DISCOVERY_PATH}`,
    send(() => JSON.stringify(discoveryDocument(issuer as string))),
  );
  server.app.get(
    `${prefix}${JWKS_PATH}`,
    send(() => jwks),
  );
  server.app.get('/healthz', async () => ({ status: 'ok' }));
  return {
    async listen() {
      const url = await server.listen();
      issuer ??= url.href.replace(/\/+$/, '');
      log.emit({
        type: 'issuer.serving',
        level: 'info',
        url: url.href,
        issuer,
        keys: options.keys.length,
      });
      return url;
    },
    get issuer() {
      return issuer;
    },
    close: () => server.close(),
  };
}
