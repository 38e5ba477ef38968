import { type Log, NO_LOG } from '../../log/index.js';
import { createWebServer, type WebServerTls } from '../../web/index.js';
import type { CredmonConfig } from '../config/types.js';
import { MAX_CRED_NAME_LENGTH } from '../names.js';
import { registerLoginRoutes } from './routes.js';
import { loadOrCreateSessionKey } from './session-key.js';
import { createSessionStore } from './sessions.js';
import { LOGIN_LOCK_WAIT_MS } from './store-tokens.js';

export interface LoginServerOptions {
  config: CredmonConfig;
  log?: Log;
  /** 127.0.0.1 by default. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Serve HTTPS with this certificate and key. */
  tls?: WebServerTls | undefined;
  /** Behind Apache or nginx: believe their `X-Forwarded-Proto` (the session cookie is then Secure over https). */
  trustProxy?: boolean;
  /** Plain HTTP on an address other than loopback (behind a TLS-terminating proxy on another host). */
  allowPlain?: boolean;
  /** Epoch milliseconds; tests inject one. */
  clock?: () => number;
  /** For the requests to the token providers. */
  fetch?: typeof fetch;
  /** Seconds each request to a provider may take (default 20). */
  providerTimeoutSeconds?: number;
  /**
   * Told after a login's tokens are written, so the credmon renews from them now: in one process the
   * credmon's own rescan; with `credmon --web-only`, a SIGHUP to the pid in `<credDir>/pid`.
   */
  onStored?: (user: string, name: string) => void | Promise<void>;
  /** Milliseconds a return waits for a refresh of the same credential in progress (default 75 s). */
  loginLockWaitMs?: number;
}

export interface LoginServer {
  /** Where it listens, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** Stops taking connections and waits for the requests in flight; idempotent. */
  close(): Promise<void>;
}

/**
 * The credmon's login web app, the replacement of HTCondor's Flask app (OAuthCredmonWebserver): the
 * session key from `<credDir>/wsgi_session_key` (made at the first start), the routes of
 * registerLoginRoutes on the shared web layer (security headers, deadlines, error pages), listening.
 */
export async function createLoginServer(options: LoginServerOptions): Promise<LoginServer> {
  const clock = options.clock ?? Date.now;
  const log = options.log ?? NO_LOG;
  const loginLockWaitMs = options.loginLockWaitMs ?? LOGIN_LOCK_WAIT_MS;
  const key = await loadOrCreateSessionKey(options.config.credDir);
  const web = createWebServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    tls: options.tls,
    allowPlain: options.allowPlain ?? false,
    // A return first waits for a refresh of the same credential in progress (the lock on its .top), then
    // for the provider's code exchange: give it both deadlines and a little more.
    requestTimeoutMs: loginLockWaitMs + ((options.providerTimeoutSeconds ?? 20) + 10) * 1000,
    // `/login/<Provider Handle>`: the credential name `<Provider>_<Handle>` may be as long as any name in
    // the directory, and every character of the label may arrive percent-encoded.
    maxParamLength: 3 * (MAX_CRED_NAME_LENGTH + 1),
    log,
  });
  registerLoginRoutes(web.app, {
    config: options.config,
    log,
    sessions: createSessionStore(key, clock),
    clock,
    fetch: options.fetch,
    tls: options.tls !== undefined,
    trustProxy: options.trustProxy ?? false,
    providerTimeoutSeconds: options.providerTimeoutSeconds ?? 20,
    onStored: options.onStored,
    loginLockWaitMs,
  });
  try {
    const url = await web.listen();
    return { url: url.href, close: () => web.close() };
  } catch (err) {
    await web.close();
    throw err;
  }
}
