import type { Log } from '../log/index.js';
import type { Metrics } from './metrics.js';
import { createWebServer, type WebServer, type WebServerTls } from './server.js';
import type { StatusError, StatusSnapshot } from './status-model.js';
import { renderStatusPage, statusPageHeaders } from './status-page.js';

/** What a long-running service (the daemon, the credmon) gives its HTTP side to show. */
export interface ServiceStatusSource {
  /** The status as of now; holds no secret. */
  snapshot(): StatusSnapshot;
  /** Why the service is not ready (undefined when it is): answered as 503 on `/readyz`. */
  notReady(): Promise<StatusError | undefined> | StatusError | undefined;
}

export interface ServiceHttpOptions {
  source: ServiceStatusSource;
  metrics: Metrics;
  /** 127.0.0.1 by default; anything else needs TLS (or `allowPlain` behind a TLS-terminating proxy). */
  host?: string;
  port?: number;
  tls?: WebServerTls;
  allowPlain?: boolean;
  log?: Log;
  /** Epoch milliseconds (Date.now). */
  clock?: () => number;
  /** How often the status page reloads itself, in seconds (default 10; 0: never). */
  refreshSeconds?: number;
}

/** Paths a service's admin side serves; `status` and the tests use the same names. */
export const SERVICE_ROUTES = {
  page: '/',
  status: '/api/status',
  metrics: '/metrics',
  live: '/healthz',
  ready: '/readyz',
} as const;

/**
 * The admin HTTP side of a long-running service, on the shared web layer: the status page a person
 * looks at, the same snapshot as JSON (what `tokenwarden status` reads), `/metrics` for Prometheus, and
 * the liveness and readiness probes. Everything is read-only and computed from `source.snapshot()` at
 * request time, which holds no secret; the server listens on loopback unless given a certificate.
 */
export function createServiceHttp(options: ServiceHttpOptions): WebServer {
  const clock = options.clock ?? Date.now;
  const { source, metrics } = options;
  const server = createWebServer({
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.allowPlain === undefined ? {} : { allowPlain: options.allowPlain }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  metrics.setSource(() => source.snapshot());
  const { app } = server;
  app.get(SERVICE_ROUTES.page, async (_request, reply) => {
    const html = renderStatusPage(source.snapshot(), {
      now: clock() / 1000,
      refreshSeconds: options.refreshSeconds ?? 10,
    });
    reply.headers(statusPageHeaders(html));
    return html;
  });
  app.get(SERVICE_ROUTES.status, async (_request, reply) => {
    reply.type('application/json; charset=utf-8');
    return source.snapshot();
  });
  app.get(SERVICE_ROUTES.metrics, async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
  app.get(SERVICE_ROUTES.live, async () => ({ status: 'ok' }));
  app.get(SERVICE_ROUTES.ready, async (_request, reply) => {
    const problem = await source.notReady();
    if (problem === undefined) return { status: 'ready' };
    reply.code(503);
    return { status: 'not-ready', error: problem };
  });
  return server;
}

/**
 * A fetch that reports the duration and outcome of each request to `observe`, keyed by the origin of
 * the URL (never its path or query, which may carry a secret).
 */
export function instrumentFetch(
  base: typeof fetch,
  observe: (issuer: string, seconds: number, outcome: string) => void,
  clock: () => number = performance.now.bind(performance),
): typeof fetch {
  return async (input, init) => {
    const started = clock();
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    let origin = 'unknown';
    try {
      origin = new URL(url).origin;
    } catch {
      // An unparsable URL fails in fetch itself; it is still counted.
    }
    try {
      const response = await base(input, init);
      observe(origin, (clock() - started) / 1000, response.ok ? 'ok' : `http_${response.status}`);
      return response;
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      observe(
        origin,
        (clock() - started) / 1000,
        name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'error',
      );
      throw err;
    }
  };
}
