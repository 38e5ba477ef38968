import { Gauge } from 'prom-client';
import type { Metrics } from '../web/metrics.js';
import { CREDENTIAL_STATES } from '../web/status-model.js';
import type { Credmon } from './credmon.js';

/**
 * The credmon's own series beside the shared ones (web/metrics.ts reads its snapshot: credentials by
 * state, seconds until each expires, renewals and failures by provider and reason):
 * `<prefix>credmon_credentials{provider,state}`, every state of every provider present, zeros included.
 * Cardinality is bounded by the configured providers.
 */
export function registerCredmonMetrics(
  metrics: Metrics,
  credmon: Pick<Credmon, 'countsByProvider' | 'inFlight'>,
  providerNames: readonly string[],
  prefix = 'tokenwarden_',
): void {
  new Gauge({
    name: `${prefix}credmon_credentials`,
    help: 'Credentials of the credential directory by provider and state.',
    labelNames: ['provider', 'state'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      const counts = credmon.countsByProvider();
      const names = new Set([...providerNames, ...counts.keys()]);
      for (const provider of names) {
        const byState = counts.get(provider);
        for (const state of CREDENTIAL_STATES) this.set({ provider, state }, byState?.get(state) ?? 0);
      }
    },
  });
  new Gauge({
    name: `${prefix}credmon_renewals_in_flight`,
    help: 'Renewals running now.',
    registers: [metrics.registry],
    collect() {
      this.set(credmon.inFlight());
    },
  });
}
