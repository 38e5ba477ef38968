import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { TokenwardenError } from '../errors.js';
import { type Log, NO_LOG } from '../log/index.js';
import { isLoopbackUrl } from '../oidc/loopback.js';
import { prefersHtml, renderErrorPage } from './error-page.js';
import { SECURITY_HEADERS } from './headers.js';
import { httpErrorBody, toHttpError } from './http-errors.js';

export interface WebServerTls {
  /** PEM certificate (chain) file. */
  certFile: string;
  /** PEM private key file; it is read once, at start. */
  keyFile: string;
}

export interface WebServerOptions {
  /** Address to listen on; 127.0.0.1 by default. */
  host?: string;
  /** Port; 0 (the default) lets the system pick one, which `listen()` reports. */
  port?: number;
  /** Serve HTTPS with this certificate and key. */
  tls?: WebServerTls;
  /**
   * Serve plain HTTP on an address other than loopback. Refused unless set: the status page, the
   * metrics and every later API describe credentials, and on a network anyone on the path could read
   * or alter them; loopback never leaves the host. Meant for a server behind a TLS-terminating proxy.
   */
  allowPlain?: boolean;
  /** Largest request body taken; 64 KiB by default. A larger one is answered 413. */
  bodyLimitBytes?: number;
  /** Every request is answered within this (503 `DEADLINE` if the handler has not); 10 s by default. */
  requestTimeoutMs?: number;
  /** Longest URL path parameter routed, as sent (percent-encoded); 100 (Fastify's default) unless set. */
  maxParamLength?: number;
  /** Where requests (debug) and server errors (error) are reported. */
  log?: Log;
}

export interface WebServer {
  /** The Fastify instance: add routes (with JSON schemas for their input) before `listen()`. */
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the base URL (`http://127.0.0.1:PORT/`). */
  listen(): Promise<URL>;
  /** Stops taking connections and waits for the requests in flight; idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * The HTTP layer every tokenwarden server shares (the daemon's status page and metrics now; the
 * credential monitor, the issuer and the central server later), on Fastify: routing with
 * schema-validated input, one error answer for every failure (`sendError`), a deadline on every request
 * (the handler's `request.signal` aborts at it), a body size limit, TLS from a certificate and key, the
 * same security headers on every answer, and loopback unless told otherwise.
 */
export function createWebServer(options: WebServerOptions = {}): WebServer {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? NO_LOG;
  if (!options.tls && !options.allowPlain && !isLoopbackHost(host)) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `refusing to serve plain HTTP on ${host}, which is not a loopback address: configure a TLS certificate and key, or listen on 127.0.0.1`,
    );
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // The application deadline: Fastify answers 503 through the error handler and aborts request.signal.
    handlerTimeout: requestTimeoutMs,
    // The socket deadline: a client that trickles its request in is cut off too.
    requestTimeout: requestTimeoutMs,
    return503OnClosing: true,
    // Under routerOptions: Fastify 5 warns (FSTDEP022, on stderr) of router options given at the top.
    routerOptions: { maxParamLength: options.maxParamLength ?? 100 },
    // Fastify's Ajv strips properties a schema does not allow; refuse them instead, so a client's typo
    // is an error and not silently ignored. Scalars are still coerced (a query string's `?n=5` is a number).
    ajv: { customOptions: { removeAdditional: false } },
    ...(options.tls ? { https: readTls(options.tls) } : {}),
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  app.addHook('onResponse', async (request, reply) => {
    log.emit({
      type: 'http.request',
      level: 'debug',
      method: request.method,
      route: request.routeOptions.url ?? '(none)',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });
  app.setErrorHandler((err, request, reply) => {
    const error = sendError(reply, err);
    if (error.status >= 500) {
      log.emit({
        type: 'http.error',
        level: 'error',
        method: request.method,
        route: request.routeOptions.url ?? '(none)',
        status: error.status,
        code: error.code,
        // The operator's log may say what the client is not told; the sinks still redact it.
        message: err instanceof Error ? err.message : String(err),
      });
    }
  });
  app.setNotFoundHandler((_request, reply) => {
    sendError(reply, { code: 'FST_ERR_NOT_FOUND', statusCode: 404 });
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    async listen() {
      const address = await app.listen({ host, port: options.port ?? 0 });
      return new URL(address);
    },
    close() {
      closing ??= app.close().then(() => undefined);
      return closing;
    },
  };
}

/**
 * Answers with the error `err` stands for (see `toHttpError`): `{ error: { code, message, remedy? } }` as
 * JSON, or a small HTML page for a browser. Returns what was sent.
 */
export function sendError(reply: FastifyReply, err: unknown): ReturnType<typeof toHttpError> {
  const error = toHttpError(err);
  reply.code(error.status);
  if (prefersHtml(reply.request.headers.accept)) {
    reply.type('text/html; charset=utf-8').send(renderErrorPage(error));
  } else {
    reply.type('application/json; charset=utf-8').send(httpErrorBody(error));
  }
  return error;
}

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  try {
    return isLoopbackUrl(new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`));
  } catch {
    return false;
  }
}

/** Reads the key and certificate, and proves they make a usable pair, before anything listens. */
function readTls(tls: WebServerTls): { key: Buffer; cert: Buffer; minVersion: 'TLSv1.2' } {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new TokenwardenError('CONFIG_INVALID', `cannot read the TLS ${what} ${file} (${code})`, {
        cause: err,
      });
    }
  };
  const cert = read(tls.certFile, 'certificate');
  const key = read(tls.keyFile, 'key');
  const refuse = (message: string, cause?: unknown): never => {
    throw new TokenwardenError('CONFIG_INVALID', message, { cause });
  };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    return refuse(`the TLS certificate ${tls.certFile} is not a PEM certificate`, err);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // OpenSSL's reason stays in `cause` (TOKENWARDEN_DEBUG); the message never quotes the file.
    return refuse(`the TLS key ${tls.keyFile} is not an unencrypted PEM private key`, err);
  }
  if (!certificate.checkPrivateKey(privateKey))
    refuse(`the TLS key ${tls.keyFile} does not belong to the certificate ${tls.certFile}`);
  return { key, cert, minVersion: 'TLSv1.2' };
}
