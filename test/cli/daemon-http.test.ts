/**
 * The daemon's HTTP side as a person and Prometheus meet it: the status page loaded from the running
 * daemon in Debian's headless Chromium (a screenshot is written for review), /metrics read by a real
 * Prometheus text parser and checked against the daemon's own snapshot, the probes, and `status`
 * asking the daemon. Nothing served may hold a secret.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { type Browser, chromium } from 'playwright-core';
import type { StatusSnapshot } from '../../src/web/status-model.js';
import { findLeaks, runCli, transcript } from '../helpers/cli.js';
import { type DaemonProcess, startDaemon } from '../helpers/daemon.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string> }>;
}

describe('daemon HTTP: status page, /metrics, probes, status', { timeout: 180_000 }, () => {
  let world: World;
  let daemon: DaemonProcess;
  let url: string;
  let browser: Browser | undefined;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with \`apt-get install chromium\``);
    world = await createWorldWithAccount('vo', { accessTokenTtl: 600 });
    // Two tokens that renew, and one whose account has no credential yet (it waits for a person).
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${refreshAccount(world, 'ghost')}` +
        `${tokenSection(world, 'a', 'vo', { scope: 'storage.read:/', min_lifetime: 60 })}` +
        `${tokenSection(world, 'b', 'vo', { scope: 'compute.read', audience: 'https://b.example', min_lifetime: 60 })}` +
        `${tokenSection(world, 'c', 'ghost', { scope: 'compute.read', min_lifetime: 60 })}`,
    );
    daemon = startDaemon(world);
    url = await daemon.url();
    await daemon.waitFor(/renewal\.succeeded token=a /);
    await daemon.waitFor(/renewal\.succeeded token=b /);
    await daemon.waitFor(/account\.blocked account=ghost code=(PASSWORD_FILE|STORE_NOT_FOUND) /);
  });

  after(async () => {
    await browser?.close();
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(leaks, [], 'a secret appeared in what the daemon printed or served');
  });

  async function get(path: string): Promise<Response> {
    const response = await fetch(new URL(path, url));
    return response;
  }

  async function snapshot(): Promise<StatusSnapshot> {
    const response = await get('api/status');
    assert.equal(response.status, 200);
    const text = await response.text();
    transcript.push(text);
    return JSON.parse(text) as StatusSnapshot;
  }

  it('answers the probes: live, and ready once a config is loaded', async () => {
    const live = await get('healthz');
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    const ready = await get('readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
    assert.equal((await get('no-such-page')).status, 404);
  });

  it('serves its snapshot: every configured token with its state', async () => {
    const snap = await snapshot();
    assert.equal(snap.service, 'daemon');
    const byId = new Map(snap.rows.map((r) => [r.id, r]));
    assert.deepEqual([...byId.keys()].sort(), ['a', 'b', 'c']);
    const now = Date.now() / 1000;
    for (const id of ['a', 'b']) {
      const row = byId.get(id);
      assert.equal(row?.state, 'ok', id);
      assert.ok((row?.expiresAt ?? 0) > now, `${id} has a valid token`);
      assert.ok((row?.nextRenewalAt ?? 0) > now, `${id} has its next renewal planned`);
    }
    assert.notEqual(byId.get('c')?.state, 'ok');
    const ghost = snap.groups.find((g) => g.name === 'ghost');
    // ghost has neither a password file nor a credential: it waits for a person, and says why.
    assert.ok(
      ['PASSWORD_FILE', 'STORE_NOT_FOUND'].includes(ghost?.problem?.code ?? ''),
      ghost?.problem?.code,
    );
  });

  it('exposes /metrics that a Prometheus text parser reads, agreeing with the snapshot', async () => {
    const response = await get('metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    transcript.push(text);
    const families = parsePrometheusTextFormat(text) as Family[];
    const family = (name: string) => {
      const f = families.find((x) => x.name === name);
      assert.ok(f, `${name} is exposed`);
      return f;
    };
    const snap = await snapshot();
    const byState = new Map<string, number>();
    for (const row of snap.rows) byState.set(row.state, (byState.get(row.state) ?? 0) + 1);
    for (const m of family('tokenwarden_credentials').metrics) {
      const state = m.labels?.state as string;
      assert.equal(Number(m.value), byState.get(state) ?? 0, `credentials{state="${state}"}`);
    }
    const expiry = family('tokenwarden_credential_expiry_seconds').metrics;
    for (const id of ['a', 'b']) {
      const m = expiry.find((x) => x.labels?.id === id);
      assert.ok(m && Number(m.value) > 0, `${id}: seconds until expiry > 0`);
    }
    const next = family('tokenwarden_credential_next_renewal_timestamp_seconds').metrics;
    assert.ok(next.some((x) => x.labels?.id === 'a'));
    const renewals = family('tokenwarden_renewals_total').metrics;
    const vo = renewals.find((x) => x.labels?.group === 'vo' && x.labels?.result === 'renewed');
    assert.ok(vo && Number(vo.value) >= 2, 'two renewals of vo counted');
    assert.ok(families.some((f) => f.name === 'tokenwarden_issuer_request_duration_seconds'));
    assert.equal(Number(family('tokenwarden_up').metrics[0]?.value), 1);
  });

  it('shows the status page in headless Chromium: every token, its state and its bar', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    const response = await page.goto(url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    const html = await page.content();
    transcript.push(html);
    const rows = await page.$$eval('tr[data-id]', (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-id'),
        state: tr.getAttribute('data-state'),
        bar: tr.querySelector('svg.bar')?.getBoundingClientRect().width ?? 0,
        fraction: Number(tr.querySelector('svg.bar')?.getAttribute('data-remaining-fraction') ?? 'NaN'),
      })),
    );
    const snap = await snapshot();
    assert.deepEqual(rows.map((r) => r.id).sort(), ['a', 'b', 'c']);
    for (const row of rows) {
      assert.equal(row.state, snap.rows.find((r) => r.id === row.id)?.state, `${row.id}: state`);
      assert.ok(row.bar > 0, `${row.id}: bar drawn`);
    }
    for (const id of ['a', 'b']) {
      const fraction = rows.find((r) => r.id === id)?.fraction ?? 0;
      assert.ok(fraction > 0.5 && fraction <= 1, `${id}: a fresh token's bar is mostly full (${fraction})`);
    }
    // The account waiting for a login is named with what to do.
    assert.match(html, /ghost/);
    assert.deepEqual(problems, []);
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = resolve(ARTIFACTS, 'daemon-status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot of the daemon's status page: ${shot}`);
  });

  it('a second daemon on the same address says so and exits 2', async () => {
    const port = new URL(url).port;
    const before = world.issuer.stats().tokenRequests.refresh_token ?? 0;
    const r = await runCli(['daemon', '--config', world.config, '--listen', `127.0.0.1:${port}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`--listen 127\\.0\\.0\\.1:${port}: cannot listen: the address is in use`),
    );
    assert.match(r.stderr, /--listen none/);
    assert.doesNotMatch(r.stderr, /internal error|bug/);
    assert.equal(
      world.issuer.stats().tokenRequests.refresh_token ?? 0,
      before,
      'its tokens were fresh: nothing to renew',
    );
  });

  it('status asks the running daemon, and says so', async () => {
    const r = await runCli(['status', '--config', world.config, '--json']);
    assert.match(r.stderr, /from the running daemon \(pid \d+/);
    const out = JSON.parse(r.stdout) as { source: string; tokens: Array<{ token: string; state: string }> };
    assert.equal(out.source, 'daemon');
    assert.deepEqual(out.tokens.map((x) => x.token).sort(), ['a', 'b', 'c']);
    // c's account has no credential: status fails, as it does reading the files.
    assert.equal(r.code, 1);
  });
});
