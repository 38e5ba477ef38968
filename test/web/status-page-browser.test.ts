/**
 * The status page in a real browser: Debian's Chromium, headless, driven by playwright-core (never a
 * downloaded browser). The page is served with its CSP from a small node:http server on 127.0.0.1; the
 * same checks are meant to run against the daemon's own server. Writes a screenshot for review.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { renderStatusPage, statusPageHeaders } from '../../src/web/status-page.js';
import { fixtureSnapshot, NOW, PLANTED_JWT } from './snapshot-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** dist/test-artifacts/, beside the compiled tests (this file runs from dist/test/web/). */
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

/** Serves the rendered page at `/` with the headers the daemon serves it with; 404 for anything else. */
async function servePage(html: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, statusPageHeaders(html)).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('the status page in headless Chromium', { timeout: 120_000 }, () => {
  const snapshot = fixtureSnapshot();
  let browser: Browser | undefined;
  let server: Awaited<ReturnType<typeof servePage>> | undefined;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's browser with \`apt-get install chromium\` (the tests never download one)`,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    server = await servePage(renderStatusPage(snapshot, { now: NOW, refreshSeconds: 0 }));
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Injected by the browser driver, so the page's CSP does not apply to it; the page has no script.
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const response = await page.goto(server.url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows every configured token with its state, and a bar as wide as its remaining fraction', async () => {
    const rows = await page.$$eval('tr[data-id]', (trs) =>
      trs.map((tr) => {
        const svg = tr.querySelector('svg.bar');
        const fill = svg?.querySelector('rect.fill');
        const badge = tr.querySelector('[data-hook="state"]');
        return {
          id: tr.getAttribute('data-id'),
          state: tr.getAttribute('data-state'),
          badge: badge?.textContent,
          badgeVisible: badge !== null && badge.getBoundingClientRect().width > 0,
          fraction: svg?.getAttribute('data-remaining-fraction'),
          track: svg?.getBoundingClientRect().width ?? 0,
          fill: fill?.getBoundingClientRect().width ?? -1,
          fillColour: fill ? getComputedStyle(fill).fill : '',
          text: tr.querySelector('[data-hook="time-left"]')?.textContent,
        };
      }),
    );
    assert.deepEqual(
      rows.map((r) => r.id),
      snapshot.rows.map((r) => r.id),
    );
    for (const [i, row] of rows.entries()) {
      const want = snapshot.rows[i];
      assert.ok(want);
      assert.equal(row.state, want.state);
      assert.equal(row.badge, want.state);
      assert.ok(row.badgeVisible, `${row.id}: badge shown`);
      assert.ok(row.track > 100, `${row.id}: bar drawn (${row.track}px)`);
      const fraction = Number(row.fraction);
      const expected =
        want.expiresAt === undefined || want.issuedAt === undefined
          ? 0
          : Math.min(1, Math.max(0, (want.expiresAt - NOW) / (want.expiresAt - want.issuedAt)));
      assert.ok(
        Math.abs(fraction - expected) < 1e-3,
        `${row.id}: fraction ${fraction}, expected ${expected}`,
      );
      assert.ok(
        Math.abs(row.fill - fraction * row.track) <= 1,
        `${row.id}: fill ${row.fill}px of ${row.track}px for ${fraction}`,
      );
      assert.notEqual(row.fillColour, '', `${row.id}: bar coloured`);
      assert.ok(row.text && row.text.length > 0);
    }
    // Colour follows state: a healthy bar and a failing one are not the same colour.
    const colour = (id: string) => rows.find((r) => r.id === id)?.fillColour;
    assert.notEqual(colour('cms-ce'), colour('atlas-ce'));
  });

  it('renders the hostile names as text, and no JWT', async () => {
    const text = await page.textContent('body');
    assert.ok(text?.includes(`<script>alert("x")</script> & 'q'`));
    assert.ok(!text?.includes(PLANTED_JWT));
    assert.ok(text?.includes('[REDACTED-JWT]'));
    assert.equal(await page.$$eval('script', (s) => s.length), 0);
  });

  it('shows the warnings banner and the refused configuration', async () => {
    assert.equal(await page.$$eval('[data-hook="warnings"] li', (l) => l.length), snapshot.warnings.length);
    assert.ok(await page.isVisible('[data-hook="config-error"]'));
  });

  it('loads nothing else and breaks no CSP rule; writes a screenshot', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const path = resolve(ARTIFACTS, 'status-page.png');
    await page.screenshot({ path, fullPage: true });
    console.log(`status page screenshot: ${path}`);
    assert.deepEqual(problems, []);
    // The stylesheet was applied under the CSP: badges have their colours, not the default transparent.
    const badgeColours = await page.$$eval('.badge', (b) =>
      b.map((x) => getComputedStyle(x).backgroundColor),
    );
    assert.ok(
      badgeColours.length > 0 && badgeColours.every((c) => c !== 'rgba(0, 0, 0, 0)'),
      String(badgeColours),
    );
    assert.deepEqual(
      server?.requests,
      ['/'],
      'no other request (no favicon fetch reaches the server either)',
    );
  });
});
