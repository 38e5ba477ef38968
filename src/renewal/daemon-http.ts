import type { WebServer } from '../web/index.js';
import { createServiceHttp, SERVICE_ROUTES, type ServiceHttpOptions } from '../web/service-http.js';
import type { Daemon } from './daemon.js';

export { instrumentFetch } from '../web/service-http.js';

export interface DaemonHttpOptions extends Omit<ServiceHttpOptions, 'source'> {
  daemon: Pick<Daemon, 'snapshot' | 'notReady'>;
}

/** Paths the daemon serves; `status` and the tests use the same names. */
export const DAEMON_ROUTES = SERVICE_ROUTES;

/**
 * The daemon's HTTP side: the shared service admin routes (web/service-http.ts) over the daemon's
 * snapshot.
 */
export function createDaemonHttp(options: DaemonHttpOptions): WebServer {
  const { daemon, ...rest } = options;
  return createServiceHttp({
    ...rest,
    source: { snapshot: () => daemon.snapshot(), notReady: () => daemon.notReady() },
  });
}
