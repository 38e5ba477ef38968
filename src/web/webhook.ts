/**
 * The optional warnings webhook: a JSON POST when a warning appears (`event: 'warning'`) and one when it
 * clears (`event: 'resolved'`), a warning being known by its kind, group and credential. Posting never
 * blocks the caller: `update()` only compares and queues. Each POST has a deadline; a failed one (network,
 * deadline, 408, 429, 5xx) is retried with capped exponential backoff, honouring `Retry-After`.
 *
 * The URL is treated as a secret (a webhook URL often carries a token in its path or query): it is never
 * logged, only its `scheme://host`. The body holds the warning, which holds no secret by construction.
 */
import { hostname } from 'node:os';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { TokenwardenError } from '../errors.js';
import { isLoopbackUrl } from '../oidc/loopback.js';
import type { Secret } from '../secret.js';
import type { StatusWarning } from './status-model.js';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
export const DEFAULT_WEBHOOK_RETRIES = 5;
/** First retry delay, doubled on each attempt up to the cap. */
export const WEBHOOK_BACKOFF_BASE_MS = 1_000;
export const WEBHOOK_BACKOFF_CAP_MS = 60_000;
/** Events waiting to be sent beyond this are dropped, oldest first (an endpoint down for days). */
export const WEBHOOK_QUEUE_LIMIT = 1_000;
/** POSTs in flight at once (an outage of a big issuer warns about many accounts at a time). */
export const WEBHOOK_CONCURRENCY = 4;

export interface WebhookPayload {
  event: 'warning' | 'resolved';
  warning: StatusWarning;
  service: string;
  host: string;
  /** When the event was noticed (ISO 8601). */
  time: string;
}

/** What the notifier reports; `target` is the URL's `scheme://host` only. */
export type WebhookLogEvent =
  | {
      event: 'webhook-sent';
      target: string;
      payload: 'warning' | 'resolved';
      kind: string;
      group: string;
      attempt: number;
    }
  | {
      event: 'webhook-retry';
      target: string;
      kind: string;
      group: string;
      attempt: number;
      reason: string;
      delayMs: number;
    }
  | { event: 'webhook-failed'; target: string; kind: string; group: string; attempt: number; reason: string }
  | { event: 'webhook-dropped'; target: string; kind: string; group: string };

export interface WebhookOptions {
  /** https, or http on loopback only. A Secret keeps it out of anything that prints the options. */
  url: string | Secret;
  fetch?: typeof fetch;
  /** Deadline of each POST (default 10 s). */
  timeoutMs?: number;
  /** Further attempts after the first fails (default 5). */
  retries?: number;
  /** Waits between attempts; must reject (or resolve early) when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Arms a POST's deadline; returns a function that disarms it (default setTimeout). */
  setDeadline?: (ms: number, onDeadline: () => void) => () => void;
  /** Epoch milliseconds, for the payload's `time`. */
  clock?: () => number;
  /** 0 ≤ r < 1, for backoff jitter (default Math.random). */
  random?: () => number;
  log?: (event: WebhookLogEvent) => void;
  /** The payload's `service` (default `tokenwarden`) and `host` (default the host name). */
  service?: string;
  host?: string;
}

export interface WebhookNotifier {
  /** The warnings now in force: posts the ones that appeared and the ones that cleared since last time. */
  update(warnings: readonly StatusWarning[]): void;
  /** Stops; waits for the POSTs in flight (each up to its deadline). Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  key: string;
  payload: WebhookPayload;
}

export function createWebhookNotifier(opts: WebhookOptions): WebhookNotifier {
  const url = checkWebhookUrl(typeof opts.url === 'string' ? opts.url : opts.url.reveal());
  const target = `${url.protocol}//${url.host}`;
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const retries = opts.retries ?? DEFAULT_WEBHOOK_RETRIES;
  const sleep = opts.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
  const setDeadline =
    opts.setDeadline ??
    ((ms, onDeadline) => {
      const t = setTimeout(onDeadline, ms);
      return () => clearTimeout(t);
    });
  const clock = opts.clock ?? Date.now;
  const random = opts.random ?? Math.random;
  const log = opts.log ?? (() => {});
  const service = opts.service ?? 'tokenwarden';
  const host = opts.host ?? hostname();

  const active = new Map<string, StatusWarning>();
  const queue: Pending[] = [];
  /** Keys with a POST in flight: a key's events go out one at a time, in order. */
  const busy = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  let closed: Promise<void> | undefined;

  const enqueue = (key: string, event: WebhookPayload['event'], warning: StatusWarning) => {
    queue.push({ key, payload: { event, warning, service, host, time: new Date(clock()).toISOString() } });
    while (queue.length > WEBHOOK_QUEUE_LIMIT) {
      const dropped = queue.shift() as Pending;
      log({
        event: 'webhook-dropped',
        target,
        kind: dropped.payload.warning.kind,
        group: dropped.payload.warning.group,
      });
    }
  };

  const pump = () => {
    while (!stopping.signal.aborted && inFlight.size < WEBHOOK_CONCURRENCY) {
      const i = queue.findIndex((p) => !busy.has(p.key));
      if (i < 0) return;
      const [next] = queue.splice(i, 1) as [Pending];
      busy.add(next.key);
      const job = deliver(next.payload).finally(() => {
        busy.delete(next.key);
        inFlight.delete(job);
        pump();
      });
      inFlight.add(job);
    }
  };

  /** One event, with its retries; never throws. */
  const deliver = async (payload: WebhookPayload): Promise<void> => {
    const { kind, group } = payload.warning;
    const body = JSON.stringify(payload);
    for (let attempt = 1; ; attempt++) {
      const outcome = await post(body);
      if (outcome.ok) {
        log({ event: 'webhook-sent', target, payload: payload.event, kind, group, attempt });
        return;
      }
      if (!outcome.retry || attempt > retries || stopping.signal.aborted) {
        log({ event: 'webhook-failed', target, kind, group, attempt, reason: outcome.reason });
        return;
      }
      const backoff = Math.min(WEBHOOK_BACKOFF_CAP_MS, WEBHOOK_BACKOFF_BASE_MS * 2 ** (attempt - 1));
      // Full delay when r is 1, half of it when r is 0: spread, but never sooner than half the backoff.
      const jittered = Math.round(backoff * (0.5 + 0.5 * random()));
      const delayMs = Math.min(WEBHOOK_BACKOFF_CAP_MS, Math.max(jittered, outcome.retryAfterMs ?? 0));
      log({ event: 'webhook-retry', target, kind, group, attempt, reason: outcome.reason, delayMs });
      try {
        await sleep(delayMs, stopping.signal);
      } catch {
        // Aborted by close(): the loop checks the signal and gives up.
      }
      if (stopping.signal.aborted) {
        log({ event: 'webhook-failed', target, kind, group, attempt, reason: 'closed' });
        return;
      }
    }
  };

  type Outcome =
    | { ok: true }
    | { ok: false; retry: boolean; reason: string; retryAfterMs?: number | undefined };

  const post = async (body: string): Promise<Outcome> => {
    const controller = new AbortController();
    const disarm = setDeadline(timeoutMs, () => controller.abort());
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'tokenwarden' },
        body,
        signal: controller.signal,
        // A redirect would send the body somewhere the admin did not name.
        redirect: 'error',
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) return { ok: true };
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      return {
        ok: false,
        retry,
        reason: `HTTP ${res.status}`,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), clock()),
      };
    } catch (err) {
      // Only a code or name, never the message: fetch's messages may quote the URL.
      const reason = controller.signal.aborted ? 'timeout' : errorCode(err);
      return { ok: false, retry: true, reason };
    } finally {
      disarm();
    }
  };

  return {
    update(warnings) {
      if (closed !== undefined) return;
      const now = new Map<string, StatusWarning>();
      for (const w of warnings) now.set(warningKey(w), w);
      for (const [key, w] of now) if (!active.has(key)) enqueue(key, 'warning', w);
      for (const [key, w] of active) if (!now.has(key)) enqueue(key, 'resolved', w);
      active.clear();
      for (const [key, w] of now) active.set(key, w);
      pump();
    },
    close() {
      if (closed === undefined) {
        stopping.abort();
        queue.length = 0;
        closed = Promise.allSettled([...inFlight]).then(() => {});
      }
      return closed;
    },
  };
}

/** What identifies a warning between two updates: its kind, group and credential. */
export function warningKey(w: StatusWarning): string {
  return JSON.stringify([w.kind, w.group, w.id ?? null]);
}

/**
 * Refuses a webhook URL that is not https (http only on loopback) or carries a user name or password,
 * without quoting it (it may hold a token).
 */
export function checkWebhookUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TokenwardenError('CONFIG_INVALID', 'the webhook URL is not a URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw new TokenwardenError('CONFIG_INVALID', 'the webhook URL must not contain a user name or password', {
      hint: 'put a token in its path or query instead',
    });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      'the webhook URL must use https (plain http only on loopback)',
    );
  }
  return url;
}

/** `Retry-After` in seconds or as an HTTP date (RFC 9110 section 10.2.3), in milliseconds. */
function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string' && /^[A-Z_]+$/.test(cause.code)) return cause.code;
  const name = (err as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^[A-Za-z]+$/.test(name) ? name : 'error';
}
