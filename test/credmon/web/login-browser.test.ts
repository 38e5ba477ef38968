/**
 * The login as a person does it after condor_submit printed its URL: Debian's Chromium, headless,
 * driven by playwright-core, opens `/key/<hex>`, clicks Login, signs in and consents on the test
 * issuer's own pages, and lands back on the credmon's page. Writes a screenshot of the provider's
 * sign-in page and of the finished page for review.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { CLIENT_SECRET, type LoginWorld, startLoginWorld } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** dist/test-artifacts/, beside the compiled tests (this file runs from dist/test/credmon/web/). */
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test-artifacts');

describe('credmon login web app in headless Chromium', { timeout: 120_000 }, () => {
  let browser: Browser | undefined;
  let world: LoginWorld | undefined;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's browser with \`apt-get install chromium\` (the tests never download one)`,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it('logs in through the provider pages and leaves .top, .use and .meta for the key file user', async () => {
    world = await startLoginWorld();
    const key = await world.writeKeyFile([
      world.ad('alice', {
        scopes: 'openid,offline_access,storage.read:/',
        audience: 'https://storage.example.org',
      }),
    ]);
    const page = await (browser as Browser).newPage({ viewport: { width: 1100, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A browser asks for /favicon.ico on its own; neither server has one.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico'))
        problems.push(`console error: ${m.text()} (${m.location().url})`);
    });

    const first = await page.goto(`${world.base}/key/${key}`);
    assert.equal(first?.status(), 200);
    assert.equal(await page.textContent('[data-hook="user"]'), 'Logged in as: alice');
    const card = page.locator('li.card[data-provider="wlcg"]');
    assert.equal(await card.getAttribute('data-logged-in'), 'false');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'credmon_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.ok(!session.value.includes(CLIENT_SECRET));

    // To the provider: its sign-in and consent page.
    await Promise.all([
      page.waitForURL(`${world.issuer.url}/**`),
      card.locator('a[data-hook="login"]').click(),
    ]);
    await page.waitForSelector('input[name="username"]');
    assert.match((await page.textContent('body')) ?? '', /storage\.read:\//);
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'credmon-provider-login.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot of the provider's login page: ${shot}`);
    await page.fill('input[name="username"]', 'alice');
    await Promise.all([page.waitForURL(`${world.base}/`), page.click('button[value="approve"]')]);

    // Back on the credmon's page: logged in, the key file used up, the credmon told.
    assert.equal(await card.getAttribute('data-logged-in'), 'true');
    assert.equal(await card.locator('[data-hook="state"]').textContent(), 'Logged in as: alice');
    assert.match((await page.textContent('[data-hook="lead"]')) ?? '', /logged in to all service providers/);
    const done = join(ARTIFACTS, 'credmon-login-done.png');
    await page.screenshot({ path: done, fullPage: true });
    console.log(`screenshot of the finished login: ${done}`);
    assert.equal(existsSync(join(world.credDir, key)), false);
    assert.deepEqual(world.stored, [['alice', 'wlcg']]);
    const files = (await world.files()).filter((f) => f.path.startsWith('alice/'));
    assert.deepEqual(
      files.map((f) => [f.path, f.mode.toString(8)]),
      [
        ['alice/wlcg.meta', '400'],
        ['alice/wlcg.top', '400'],
        ['alice/wlcg.use', '400'],
      ],
    );
    const use = JSON.parse(files[2]?.text ?? '{}');
    const top = JSON.parse(files[1]?.text ?? '{}');
    assert.ok(typeof use.access_token === 'string' && use.access_token.split('.').length === 3);
    assert.equal(use.refresh_token, undefined);
    assert.ok(typeof top.refresh_token === 'string' && top.refresh_token.length > 0);
    assert.equal(top.scopes, 'openid,offline_access,storage.read:/');
    assert.equal(top.audience, 'https://storage.example.org');
    const claims = JSON.parse(Buffer.from(use.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'alice');
    assert.deepEqual([claims.aud].flat(), ['https://storage.example.org']);
    assert.match(claims.scope, /storage\.read:\//);
    assert.deepEqual(JSON.parse(files[0]?.text ?? '{}'), {
      client_id: 'htcondor-ap',
      token_url: `${world.issuer.url}/token`,
      use_refresh_token: true,
    });
    for (const f of await world.files())
      assert.ok(!f.text.includes(CLIENT_SECRET), `${f.path} holds the client secret`);
    // The issuer handed out exactly the refresh token now in .top.
    assert.ok(world.issuer.issuedSecrets().includes(top.refresh_token));
    assert.deepEqual(problems, []);

    // A return with a forged state, in the same browser and session: refused, nothing rewritten.
    const before = await world.files();
    const forged = await page.goto(`${world.base}/return/wlcg?code=stolen-code&state=forged-state`);
    assert.equal(forged?.status(), 400);
    assert.match(
      (await page.textContent('body')) ?? '',
      /refused: its state belongs to no login of this session/,
    );
    assert.deepEqual(await world.files(), before);
  });

  it('logs in over the app’s own TLS: the Secure session cookie rides the round trip through the provider', async () => {
    await world?.close();
    world = await startLoginWorld({ tls: true });
    assert.match(world.base, /^https:\/\/127\.0\.0\.1:\d+$/);
    const key = await world.writeKeyFile([world.ad('carol')]);
    // The certificate is self-signed: this browser is told to take it, as a site's would trust its CA.
    const context = await (browser as Browser).newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const first = await page.goto(`${world.base}/key/${key}`);
      assert.equal(first?.status(), 200);
      assert.equal(new URL(page.url()).protocol, 'https:');
      const session = (await context.cookies()).find((c) => c.name === 'credmon_session');
      assert.equal(session?.secure, true, 'the session cookie is Secure over TLS');
      await Promise.all([page.waitForURL(`${world.issuer.url}/**`), page.click('a[data-hook="login"]')]);
      await page.fill('input[name="username"]', 'carol');
      // The provider sends the browser back to https://…/return/wlcg, where only a Secure cookie is sent.
      await Promise.all([page.waitForURL(`${world.base}/`), page.click('button[value="approve"]')]);
      assert.equal(await page.locator('li.card').getAttribute('data-logged-in'), 'true');
      assert.deepEqual(world.stored, [['carol', 'wlcg']]);
      assert.deepEqual(
        (await world.files()).filter((f) => f.path.startsWith('carol/')).map((f) => f.path),
        ['carol/wlcg.meta', 'carol/wlcg.top', 'carol/wlcg.use'],
      );
    } finally {
      await context.close();
    }
  });

  it('shows a clear page when the user denies consent at the provider, and writes nothing', async () => {
    await world?.close();
    world = await startLoginWorld();
    const key = await world.writeKeyFile([world.ad('bob')]);
    const page = await (browser as Browser).newPage();
    await page.goto(`${world.base}/key/${key}`);
    await Promise.all([page.waitForURL(`${world.issuer.url}/**`), page.click('a[data-hook="login"]')]);
    await page.fill('input[name="username"]', 'bob');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${world?.base}/return/wlcg`)),
      page.click('button[value="deny"]'),
    ]);
    assert.equal(response.status(), 403);
    assert.match((await page.textContent('body')) ?? '', /access_denied/);
    assert.deepEqual(
      (await world.files()).filter((f) => /\.(top|use|meta)$/.test(f.path)),
      [],
    );
    assert.ok(existsSync(join(world.credDir, key)), 'the key file stays for another try');
    assert.deepEqual(world.stored, []);
    // Login again from the same page: the card still offers it.
    await page.goto(`${world.base}/key/${key}`);
    assert.equal(await page.locator('li.card').getAttribute('data-logged-in'), 'false');
  });
});
