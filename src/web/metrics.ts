/**
 * `/metrics` in the Prometheus text format, on prom-client with a registry of our own (never the global
 * one, so two services in one process, or a test, never share series).
 *
 * Gauges are computed at scrape time from the service's status snapshot (prom-client `collect()`), so
 * they can never drift from what the status page shows; counters and the latency histogram are fed by
 * the service as things happen.
 *
 * Label cardinality is bounded by the configuration, never by what an issuer says:
 * - per credential (`group`, `id`): `_credential_expiry_seconds` and `_credential_next_renewal_timestamp_seconds`,
 *   one series each per configured credential; one series per token is the point of these metrics;
 * - per group: `_group_refresh_token_age_seconds`, and the renewal counters by `result` (2 values) and
 *   failure `reason` (an error code from a fixed list, never a message: anything else counts as `OTHER`);
 * - per issuer (configured URLs, query and credentials cut off): the request latency histogram, by
 *   `outcome` (a short lower-case word; anything else counts as `other`);
 * - fixed sets: credentials by `state` and warnings by `kind`, every value present, zeros included.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  CREDENTIAL_STATES,
  type CredentialState,
  type StatusSnapshot,
  type WarningKind,
} from './status-model.js';
import { WARNING_KINDS } from './warnings.js';

export interface MetricsOptions {
  /** Prefix of every metric name (default `tokenwarden_`). */
  prefix?: string;
}

export interface Metrics {
  /** The registry (its own, not prom-client's global one). */
  readonly registry: Registry;
  /** The Content-Type of `render()`'s output. */
  readonly contentType: string;
  /** Where the gauges read the service's state from at each scrape. */
  setSource(source: () => StatusSnapshot): void;
  /** Counts one renewal attempt of a group; `reason` is the error code of a failure. */
  observeRenewal(group: string, result: 'renewed' | 'failed', reason?: string): void;
  /** Records the duration of one request to an issuer, and how it ended (`ok`, `error`, `timeout`...). */
  observeIssuerRequest(issuer: string, seconds: number, outcome: string): void;
  /** The text exposition of every metric. */
  render(): Promise<string>;
}

export const DEFAULT_METRICS_PREFIX = 'tokenwarden_';

/** Issuer request latency buckets, in seconds: from a fast local issuer to the 30 s default deadline. */
export const ISSUER_LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const OUTCOME = /^[a-z][a-z0-9_]{0,31}$/;

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const prefix = opts.prefix ?? DEFAULT_METRICS_PREFIX;
  let source: (() => StatusSnapshot) | undefined;
  // One snapshot per scrape, however many gauges read it.
  let scrape: StatusSnapshot | undefined;
  const current = (): StatusSnapshot | undefined => scrape ?? source?.();
  const registry = new SnapshotRegistry(
    prefix,
    (snapshot) => {
      scrape = snapshot;
    },
    () => source?.(),
  );
  const registers = [registry];

  new Gauge({
    name: `${prefix}up`,
    help: 'Always 1 while the service answers.',
    registers,
    collect() {
      this.set(1);
    },
  });
  new Gauge({
    name: `${prefix}ready`,
    help: '1 once a configuration is loaded, else 0.',
    registers,
    collect() {
      this.set(current()?.configLoadedAt === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: `${prefix}start_time_seconds`,
    help: 'When the service started (epoch seconds).',
    registers,
    collect() {
      this.reset();
      const s = current();
      if (s !== undefined) this.set(s.startedAt);
    },
  });
  new Gauge({
    name: `${prefix}config_loaded_timestamp_seconds`,
    help: 'When the running configuration was loaded (epoch seconds).',
    registers,
    collect() {
      this.reset();
      const at = current()?.configLoadedAt;
      if (at !== undefined) this.set(at);
    },
  });
  new Gauge({
    name: `${prefix}config_reload_failed`,
    help: '1 while the last configuration reload was refused (the previous one keeps running).',
    registers,
    collect() {
      this.set(current()?.configError === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: `${prefix}credentials`,
    help: 'Credentials (configured tokens) by state.',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = new Map<CredentialState, number>(CREDENTIAL_STATES.map((s) => [s, 0]));
      for (const row of current()?.rows ?? []) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: `${prefix}group_refresh_token_age_seconds`,
    help: 'Age of the stored refresh token, per group (account) that has one.',
    labelNames: ['group'],
    registers,
    collect() {
      this.reset();
      const s = current();
      if (s === undefined) return;
      for (const g of s.groups) {
        if (g.refreshTokenIssuedAt !== undefined)
          this.set({ group: g.name }, s.generatedAt - g.refreshTokenIssuedAt);
      }
    },
  });
  new Gauge({
    name: `${prefix}warnings`,
    help: 'Warnings shown on the status page, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      const counts = new Map<WarningKind, number>(WARNING_KINDS.map((k) => [k, 0]));
      for (const w of current()?.warnings ?? []) counts.set(w.kind, (counts.get(w.kind) ?? 0) + 1);
      for (const [kind, n] of counts) this.set({ kind }, n);
    },
  });
  const renewals = new Counter({
    name: `${prefix}renewals_total`,
    help: 'Renewal attempts, by group (account) and result.',
    labelNames: ['group', 'result'],
    registers,
  });
  const failures = new Counter({
    name: `${prefix}renewal_failures_total`,
    help: 'Failed renewal attempts, by group (account) and reason (an error code).',
    labelNames: ['group', 'reason'],
    registers,
  });
  const latency = new Histogram({
    name: `${prefix}issuer_request_duration_seconds`,
    help: 'Duration of requests to issuers, by issuer and outcome.',
    labelNames: ['issuer', 'outcome'],
    buckets: ISSUER_LATENCY_BUCKETS,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    setSource(fn) {
      source = fn;
    },
    observeRenewal(group, result, reason) {
      renewals.inc({ group, result });
      if (result === 'failed') {
        failures.inc({ group, reason: reason !== undefined && CODE.test(reason) ? reason : 'OTHER' });
      }
    },
    observeIssuerRequest(issuer, seconds, outcome) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      latency.observe(
        { issuer: issuerLabel(issuer), outcome: OUTCOME.test(outcome) ? outcome : 'other' },
        seconds,
      );
    },
    render() {
      return registry.metrics();
    },
  };
}

/**
 * prom-client's registry, plus the per-credential series written straight from the snapshot. Two
 * families of 10,000 series each through prom-client's Gauge (label hashing on set, label formatting on
 * scrape) cost over 100 ms a scrape; written here they cost a few milliseconds. Only the text exposition
 * (`metrics()`) carries them, not `getMetricsAsJSON()`.
 */
class SnapshotRegistry extends Registry {
  constructor(
    private readonly prefix: string,
    private readonly pin: (snapshot: StatusSnapshot | undefined) => void,
    private readonly take: () => StatusSnapshot | undefined,
  ) {
    super();
  }

  override async metrics(): Promise<string> {
    const snapshot = this.take();
    this.pin(snapshot);
    try {
      const text = await super.metrics();
      return snapshot === undefined ? text : `${text}\n${renderCredentialSeries(snapshot, this.prefix)}`;
    } finally {
      this.pin(undefined);
    }
  }
}

/** Seconds until expiry and the next scheduled renewal, one series per credential. */
export function renderCredentialSeries(snapshot: StatusSnapshot, prefix = DEFAULT_METRICS_PREFIX): string {
  const expiry = `${prefix}credential_expiry_seconds`;
  const next = `${prefix}credential_next_renewal_timestamp_seconds`;
  const expiryLines = [
    `# HELP ${expiry} Seconds until the token on disk expires (negative once expired), per credential with a token.`,
    `# TYPE ${expiry} gauge`,
  ];
  const nextLines = [
    `# HELP ${next} When the next renewal attempt is scheduled (epoch seconds), per credential with one scheduled.`,
    `# TYPE ${next} gauge`,
  ];
  for (const row of snapshot.rows) {
    if (row.expiresAt === undefined && row.nextRenewalAt === undefined) continue;
    const labels = `{group="${escapeLabel(row.group)}",id="${escapeLabel(row.id)}"}`;
    if (row.expiresAt !== undefined)
      expiryLines.push(`${expiry}${labels} ${number(row.expiresAt - snapshot.generatedAt)}`);
    if (row.nextRenewalAt !== undefined) nextLines.push(`${next}${labels} ${number(row.nextRenewalAt)}`);
  }
  return `${expiryLines.join('\n')}\n\n${nextLines.join('\n')}\n`;
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : value;
}

function number(n: number): string {
  return Number.isFinite(n) ? String(n) : Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
}

/** An issuer URL as a label: scheme, host and path only (no credentials, query or fragment). */
function issuerLabel(issuer: string): string {
  try {
    const url = new URL(issuer);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'other';
  }
}
