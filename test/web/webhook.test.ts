import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Secret } from '../../src/secret.js';
import type { StatusWarning } from '../../src/web/status-model.js';
import {
  checkWebhookUrl,
  createWebhookNotifier,
  WEBHOOK_BACKOFF_CAP_MS,
  type WebhookLogEvent,
  type WebhookNotifier,
  type WebhookPayload,
} from '../../src/web/webhook.js';

const TOKEN = 'hook-token-5d1e9c';

interface Receiver {
  url: string;
  received: WebhookPayload[];
  requests: number;
  /** Resolves when `n` requests have arrived (whatever was answered). */
  requestsReached(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A webhook endpoint on 127.0.0.1 that answers each request with `answer(n)` (n from 1). */
async function startReceiver(answer: (n: number, res: ServerResponse) => boolean): Promise<Receiver> {
  const received: WebhookPayload[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let requests = 0;
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d;
    });
    req.on('end', () => {
      requests++;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, `/hooks/${TOKEN}?key=${TOKEN}`);
      assert.equal(req.headers['content-type'], 'application/json');
      const n = requests;
      open.add(res);
      res.on('close', () => open.delete(res));
      // true: the request counts as delivered (answered 2xx).
      if (answer(n, res)) received.push(JSON.parse(body) as WebhookPayload);
      for (const w of waiters.filter((x) => requests >= x.n)) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/${TOKEN}?key=${TOKEN}`,
    received,
    get requests() {
      return requests;
    },
    requestsReached: (n) =>
      requests >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok = (_n: number, res: ServerResponse) => {
  res.writeHead(204).end();
  return true;
};

function warning(kind: StatusWarning['kind'], group: string, id?: string): StatusWarning {
  return {
    kind,
    group,
    ...(id === undefined ? {} : { id }),
    message: `${kind} for ${group}`,
    since: 1_780_000_000,
  };
}

/** Resolves once the notifier has logged `n` events of the given names. */
function logRecorder() {
  const events: WebhookLogEvent[] = [];
  const waiters: { pred: () => boolean; resolve: () => void }[] = [];
  return {
    events,
    log(e: WebhookLogEvent) {
      events.push(e);
      for (const w of waiters.filter((x) => x.pred())) w.resolve();
    },
    until(event: WebhookLogEvent['event'], n: number): Promise<void> {
      const pred = () => events.filter((e) => e.event === event).length >= n;
      return pred() ? Promise.resolve() : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

describe('createWebhookNotifier', () => {
  let receiver: Receiver | undefined;
  let notifier: WebhookNotifier | undefined;
  afterEach(async () => {
    await notifier?.close();
    await receiver?.close();
    notifier = undefined;
    receiver = undefined;
  });

  it('posts once when a warning appears and once when it clears, keyed by kind, group and id', async () => {
    receiver = await startReceiver(ok);
    const rec = logRecorder();
    notifier = createWebhookNotifier({
      url: new Secret(receiver.url),
      log: rec.log,
      clock: () => 1_780_000_123_000,
      service: 'daemon',
      host: 'ce01.example.org',
    });
    const a = warning('needs-login', 'dune');
    const b = warning('issuer-outage', 'atlas');
    notifier.update([a]);
    notifier.update([a, b]);
    notifier.update([{ ...a, message: 'same warning, new words' }, b]);
    await rec.until('webhook-sent', 2);
    notifier.update([b]);
    notifier.update([b]);
    await rec.until('webhook-sent', 3);
    notifier.update([]);
    await rec.until('webhook-sent', 4);
    const seen = receiver.received.map((p) => `${p.event} ${p.warning.kind} ${p.warning.group}`);
    // The first two went out concurrently (different keys); the rest in the order they happened.
    assert.deepEqual(
      [...seen.slice(0, 2).sort(), ...seen.slice(2)],
      [
        'warning issuer-outage atlas',
        'warning needs-login dune',
        'resolved needs-login dune',
        'resolved issuer-outage atlas',
      ],
    );
    assert.deepEqual(
      receiver.received.find((p) => p.warning.group === 'dune'),
      {
        event: 'warning',
        warning: a,
        service: 'daemon',
        host: 'ce01.example.org',
        time: new Date(1_780_000_123_000).toISOString(),
      },
    );
    // Per credential too: the same kind and group with two ids are two warnings.
    notifier.update([warning('needs-login', 'vo', 't1'), warning('needs-login', 'vo', 't2')]);
    await rec.until('webhook-sent', 6);
    assert.deepEqual(
      receiver.received
        .slice(4)
        .map((p) => p.warning.id)
        .sort(),
      ['t1', 't2'],
    );
    assert.equal(receiver.requests, 6);
  });

  it('retries a failing endpoint with growing, capped delays, and logs only scheme://host', async () => {
    receiver = await startReceiver((n, res) => {
      if (n <= 3) {
        res.writeHead(n === 2 ? 429 : 503).end('busy');
        return false;
      }
      return ok(n, res);
    });
    const rec = logRecorder();
    const delays: number[] = [];
    notifier = createWebhookNotifier({
      url: receiver.url,
      log: rec.log,
      random: () => 1,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    notifier.update([warning('needs-login', 'dune')]);
    await rec.until('webhook-sent', 1);
    assert.deepEqual(delays, [1000, 2000, 4000]);
    assert.equal(receiver.requests, 4);
    assert.equal(receiver.received.length, 1);
    assert.deepEqual(
      rec.events.map((e) => [e.event, 'reason' in e ? e.reason : '', 'attempt' in e ? e.attempt : 0]),
      [
        ['webhook-retry', 'HTTP 503', 1],
        ['webhook-retry', 'HTTP 429', 2],
        ['webhook-retry', 'HTTP 503', 3],
        ['webhook-sent', '', 4],
      ],
    );
    const logged = JSON.stringify(rec.events);
    assert.ok(!logged.includes(TOKEN) && !logged.includes('/hooks'), 'no path or query in the log');
    assert.ok(rec.events.every((e) => e.target === receiver?.url.slice(0, receiver.url.indexOf('/hooks'))));
  });

  it('gives up after the configured retries, and never waits longer than the cap', async () => {
    receiver = await startReceiver((_n, res) => {
      res.writeHead(500, { 'retry-after': '3600' }).end();
      return false;
    });
    const rec = logRecorder();
    const delays: number[] = [];
    notifier = createWebhookNotifier({
      url: receiver.url,
      retries: 8,
      log: rec.log,
      random: () => 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    notifier.update([warning('issuer-outage', 'atlas')]);
    await rec.until('webhook-failed', 1);
    assert.equal(receiver.requests, 9);
    assert.equal(delays.length, 8);
    assert.ok(
      delays.every((d) => d === WEBHOOK_BACKOFF_CAP_MS),
      'Retry-After honoured up to the cap',
    );
    assert.deepEqual(rec.events.at(-1), {
      event: 'webhook-failed',
      target: receiver.url.slice(0, receiver.url.indexOf('/hooks')),
      kind: 'issuer-outage',
      group: 'atlas',
      attempt: 9,
      reason: 'HTTP 500',
    });
  });

  it('does not retry a request the endpoint refuses (4xx)', async () => {
    receiver = await startReceiver((_n, res) => {
      res.writeHead(404).end();
      return false;
    });
    const rec = logRecorder();
    notifier = createWebhookNotifier({ url: receiver.url, log: rec.log, sleep: async () => {} });
    notifier.update([warning('needs-login', 'dune')]);
    await rec.until('webhook-failed', 1);
    assert.equal(receiver.requests, 1);
  });

  it('gives each POST a deadline: a hung endpoint is abandoned and retried', async () => {
    receiver = await startReceiver((n, res) => {
      if (n === 1) return false; // never answered
      return ok(n, res);
    });
    const rec = logRecorder();
    // The deadline fires when the test says so (the endpoint has the request), not after wall time.
    let fire: (() => void) | undefined;
    notifier = createWebhookNotifier({
      url: receiver.url,
      log: rec.log,
      setDeadline: (_ms, onDeadline) => {
        fire = onDeadline;
        return () => {};
      },
      sleep: async () => {},
    });
    notifier.update([warning('needs-login', 'dune')]);
    await receiver.requestsReached(1);
    fire?.();
    await rec.until('webhook-sent', 1);
    assert.deepEqual(
      rec.events.map((e) => [e.event, 'reason' in e ? e.reason : '']),
      [
        ['webhook-retry', 'timeout'],
        ['webhook-sent', ''],
      ],
    );
  });

  it('an unreachable endpoint: retried, logged by error code, never the URL', async () => {
    receiver = await startReceiver(ok);
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;
    const rec = logRecorder();
    notifier = createWebhookNotifier({ url, retries: 1, log: rec.log, sleep: async () => {} });
    notifier.update([warning('needs-login', 'dune')]);
    await rec.until('webhook-failed', 1);
    assert.deepEqual(
      rec.events.map((e) => [e.event, 'reason' in e ? e.reason : '']),
      [
        ['webhook-retry', 'ECONNREFUSED'],
        ['webhook-failed', 'ECONNREFUSED'],
      ],
    );
  });

  it('update() never blocks; close() is idempotent, waits for the POST in flight, and stops retries', async () => {
    let release: (() => void) | undefined;
    receiver = await startReceiver((n, res) => {
      if (n === 1) {
        release = () => res.writeHead(503).end();
        return false;
      }
      return ok(n, res);
    });
    const rec = logRecorder();
    let slept = 0;
    notifier = createWebhookNotifier({
      url: receiver.url,
      log: rec.log,
      sleep: (_ms, signal) =>
        new Promise<void>((resolve) => {
          slept++;
          signal.addEventListener('abort', () => resolve());
        }),
    });
    notifier.update([warning('needs-login', 'dune')]);
    assert.equal(rec.events.length, 0, 'update returned before anything was sent');
    await receiver.requestsReached(1);
    let closedDone = false;
    const closing = notifier.close().then(() => {
      closedDone = true;
    });
    assert.equal(notifier.close(), notifier.close(), 'the same promise');
    await new Promise((r) => setImmediate(r));
    assert.equal(closedDone, false, 'waits for the POST in flight');
    release?.();
    await closing;
    assert.equal(slept, 0, 'no retry is waited for after close');
    assert.equal(receiver.requests, 1);
    assert.deepEqual(rec.events.at(-1)?.event, 'webhook-failed');
    notifier.update([warning('issuer-outage', 'x')]);
    await new Promise((r) => setImmediate(r));
    assert.equal(receiver.requests, 1, 'nothing is sent after close');
  });
});

describe('checkWebhookUrl', () => {
  it('takes https, and http on loopback only; refuses credentials without quoting the URL', () => {
    assert.equal(checkWebhookUrl('https://hooks.example.org/x?token=1').host, 'hooks.example.org');
    assert.equal(checkWebhookUrl('http://127.0.0.1:9/x').port, '9');
    const refused = (url: string, message: RegExp) =>
      assert.throws(
        () => checkWebhookUrl(url),
        (err: Error & { code?: string }) =>
          err.code === 'CONFIG_INVALID' && message.test(err.message) && !err.message.includes('s3cret'),
      );
    refused('http://hooks.example.org/s3cret', /must use https \(plain http only on loopback\)/);
    refused('https://user:s3cret@hooks.example.org/', /must not contain a user name or password/);
    refused('not a url s3cret', /is not a URL/);
    refused('ftp://127.0.0.1/s3cret', /must use https/);
  });
});
