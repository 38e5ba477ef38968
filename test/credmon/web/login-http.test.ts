/**
 * The login web app against the real test issuer, driven over HTTP (the issuer approves the
 * authorization request itself, so no browser is needed here; login-browser.test.ts clicks through its
 * pages in Chromium): the files a login leaves, and every way a return is refused with nothing written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { formatKeyFile, MAX_KEY_FILE_BYTES } from '../../../src/credmon/key-file.js';
import { PENDING_LOGIN_MS } from '../../../src/credmon/web/index.js';
import { readSecureFile } from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';
import { browserlessClient, CLIENT_SECRET, type LoginWorld, PROVIDER, startLoginWorld } from './fixture.js';

/** Opens the key link, clicks Login, and returns the issuer's redirect back to us (not yet followed). */
async function loginUntilReturn(
  world: LoginWorld,
  browser: ReturnType<typeof browserlessClient>,
  key: string,
  label = PROVIDER,
): Promise<URL> {
  const page = await browser.get(`/key/${key}`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, new RegExp(`href="/login/${encodeURIComponent(label)}"`));
  const login = await browser.get(`/login/${encodeURIComponent(label)}`);
  assert.equal(login.status, 302, await login.text());
  const authorization = new URL(login.headers.get('location') as string);
  assert.equal(authorization.origin, world.issuer.url);
  // The issuer's auto-approval walks its own login and consent and answers with the redirect to us.
  const approved = await fetch(authorization, { redirect: 'manual' });
  const back = approved.headers.get('location');
  assert.ok(back, `the issuer sent no redirect (${approved.status})`);
  const url = new URL(back);
  assert.equal(url.origin, world.base);
  return url;
}

async function credFiles(world: LoginWorld) {
  return (await world.files()).filter((f) => /\.(top|use|meta)$/.test(f.path));
}

describe('credmon login web app over HTTP', { timeout: 60_000 }, () => {
  let world: LoginWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('stores .top, .use and .meta for the key file user, removes the key file, and tells the credmon', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);
    assert.ok(back.searchParams.get('code'));
    const done = await browser.get(back.pathname + back.search);
    assert.equal(done.status, 303, await done.text());
    assert.equal(done.headers.get('location'), '/');

    const files = await credFiles(world);
    assert.deepEqual(
      files.map((f) => [f.path, f.mode.toString(8)]),
      [
        ['alice/wlcg.meta', '400'],
        ['alice/wlcg.top', '400'],
        ['alice/wlcg.use', '400'],
      ],
    );
    const byName = Object.fromEntries(files.map((f) => [f.path, JSON.parse(f.text)]));
    const top = byName['alice/wlcg.top'];
    assert.deepEqual(Object.keys(top).sort(), ['refresh_token', 'scopes']);
    assert.equal(top.scopes, 'openid,offline_access,storage.read:/');
    assert.ok(typeof top.refresh_token === 'string' && top.refresh_token.length > 10);
    const use = byName['alice/wlcg.use'];
    assert.equal(use.refresh_token, undefined);
    assert.equal(use.token_type, 'Bearer');
    assert.equal(typeof use.expires_in, 'number');
    assert.equal(typeof use.expires_at, 'number');
    const claims = JSON.parse(Buffer.from(use.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'alice');
    assert.equal(use.id_token, undefined, 'no ID token kept: it could not be validated without discovery');
    assert.deepEqual(byName['alice/wlcg.meta'], {
      client_id: 'htcondor-ap',
      token_url: `${world.issuer.url}/token`,
      use_refresh_token: true,
    });
    // HTCondor's shadow and starter accept them (read_secure_file: owner root, no group/other bits).
    for (const kind of ['top', 'use', 'meta'])
      await readSecureFile(join(world.credDir, 'alice', `wlcg.${kind}`), { owner: 0 });
    // The user's directory is made as the CredD makes it.
    assert.equal((await stat(join(world.credDir, 'alice'))).mode & 0o777, 0o700);
    // The login is over: the key file is gone, and the credmon was told.
    assert.equal(existsSync(join(world.credDir, key)), false);
    assert.deepEqual(world.stored, [['alice', 'wlcg']]);
    // No client secret anywhere in the credential directory, nor in the log.
    for (const f of await world.files())
      assert.ok(!f.text.includes(CLIENT_SECRET), `${f.path} holds the client secret`);
    // Nothing the issuer issued (code, tokens) nor the client secret is in any log line, and only
    // .top and .use hold tokens.
    const issued = [...world.issuer.issuedSecrets(), CLIENT_SECRET].filter((x) => x.length >= 8);
    assert.ok(issued.length >= 3);
    for (const r of world.logs)
      for (const secret of issued) assert.ok(!r.text.includes(secret), `log line leaks: ${r.type}`);
    for (const f of await world.files())
      if (!/\.(top|use)$/.test(f.path))
        for (const secret of issued) assert.ok(!f.text.includes(secret), `${f.path} holds a secret`);
    assert.ok(world.logs.some((r) => r.type === 'credmon.login-stored' && r.text.includes('user=alice')));

    // The index shows the provider logged in, as the key's user.
    const index = await (await browser.get('/')).text();
    assert.match(index, /Logged in as: alice/);
    assert.match(index, /data-logged-in="true"/);
    assert.ok(!index.includes(CLIENT_SECRET));
  });

  it('with <P>_ISSUER, finds the endpoints by discovery, reads <P>_CLIENT_SECRET_FILE, and keeps the checked ID token', async () => {
    const secretDir = await tempDir('tw-credmon-secret-');
    const secretFile = join(secretDir.dir, 'wlcg.secret');
    await writeFile(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    try {
      world = await startLoginWorld({
        autoApprove: 'alice',
        provider: {
          issuer: true,
          authorizationUrl: undefined,
          tokenUrl: undefined,
          clientSecretFile: secretFile,
        },
      });
      // What the CredD writes when <P>_AUTHORIZATION_URL, <P>_TOKEN_URL and the secret file are not its to read.
      const key = await world.writeKeyFile([
        { ...world.ad('alice'), authorizationUrl: '', tokenUrl: '', clientSecret: '' },
      ]);
      const browser = browserlessClient(world.base);
      const back = await loginUntilReturn(world, browser, key);
      assert.equal((await browser.get(back.pathname + back.search)).status, 303);
      const files = await credFiles(world);
      const use = JSON.parse(files.find((f) => f.path === 'alice/wlcg.use')?.text ?? '{}');
      assert.equal(
        typeof use.id_token,
        'string',
        'the ID token, checked against the discovered issuer, is kept',
      );
      assert.deepEqual(JSON.parse(files.find((f) => f.path === 'alice/wlcg.meta')?.text ?? '{}'), {
        client_id: 'htcondor-ap',
        token_url: `${world.issuer.url}/token`,
        use_refresh_token: true,
      });
      for (const f of await world.files()) assert.ok(!f.text.includes(CLIENT_SECRET));
    } finally {
      await secretDir.cleanup();
    }
  });

  it('refuses a client secret file others may read, naming the knob', async () => {
    const secretDir = await tempDir('tw-credmon-secret-');
    const secretFile = join(secretDir.dir, 'wlcg.secret');
    await writeFile(secretFile, CLIENT_SECRET, { mode: 0o644 });
    try {
      world = await startLoginWorld({ provider: { clientSecretFile: secretFile } });
      const key = await world.writeKeyFile([{ ...world.ad('alice'), clientSecret: '' }]);
      const browser = browserlessClient(world.base);
      await browser.get(`/key/${key}`);
      const r = await browser.get('/login/wlcg');
      assert.equal(r.status, 500);
      const text = await r.text();
      assert.match(
        text,
        /wlcg_CLIENT_SECRET_FILE: the client secret file .* may be read by others \(mode 644\)/,
      );
      assert.ok(!text.includes(CLIENT_SECRET));
    } finally {
      await secretDir.cleanup();
    }
  });

  it('asks for the Audience as resource=, and the token and .top carry it', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([
      world.ad('alice', {
        audience: 'https://storage.example.org',
        scopes: 'openid, offline_access, storage.read:/',
      }),
    ]);
    const browser = browserlessClient(world.base);
    await browser.get(`/key/${key}`);
    const login = await browser.get('/login/wlcg');
    const authorization = new URL(login.headers.get('location') as string);
    assert.deepEqual(authorization.searchParams.getAll('resource'), ['https://storage.example.org']);
    assert.equal(authorization.searchParams.get('scope'), 'openid offline_access storage.read:/');
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorization.searchParams.get('prompt'), 'consent');
    assert.equal(authorization.searchParams.get('redirect_uri'), `${world.base}/return/wlcg`);
    const back = new URL(
      (await fetch(authorization, { redirect: 'manual' })).headers.get('location') as string,
    );
    assert.equal((await browser.get(back.pathname + back.search)).status, 303);
    const files = await credFiles(world);
    const top = JSON.parse(files.find((f) => f.path === 'alice/wlcg.top')?.text ?? '{}');
    assert.equal(top.audience, 'https://storage.example.org');
    assert.equal(top.scopes, 'openid,offline_access,storage.read:/');
    const use = JSON.parse(files.find((f) => f.path === 'alice/wlcg.use')?.text ?? '{}');
    const claims = JSON.parse(Buffer.from(use.access_token.split('.')[1], 'base64url').toString());
    assert.deepEqual([claims.aud].flat(), ['https://storage.example.org']);
  });

  it('shows the provider refusing a login on a clear page naming its error, writing nothing', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    await browser.get(`/key/${key}`);
    const login = await browser.get('/login/wlcg');
    // The request mangled on the way (as a misconfigured proxy might): the provider refuses it.
    const authorization = new URL(login.headers.get('location') as string);
    authorization.searchParams.delete('code_challenge');
    const back = new URL(
      (await fetch(authorization, { redirect: 'manual' })).headers.get('location') as string,
    );
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    const r = await browser.get(back.pathname + back.search);
    assert.equal(r.status, 502);
    assert.match(await r.text(), /invalid_request/);
    assert.deepEqual(await credFiles(world), []);
    assert.ok(existsSync(join(world.credDir, key)), 'the key file stays for another try');
  });

  it('keeps the key file until every provider of it is logged in; handles make their own files', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice'), world.ad('alice', { handle: 'analysis' })]);
    const browser = browserlessClient(world.base);
    const first = await loginUntilReturn(world, browser, key, 'wlcg analysis');
    assert.equal((await browser.get(first.pathname + first.search)).status, 303);
    assert.ok(existsSync(join(world.credDir, key)), 'key file kept while a provider is left');
    assert.deepEqual(
      (await credFiles(world)).map((f) => f.path),
      ['alice/wlcg_analysis.meta', 'alice/wlcg_analysis.top', 'alice/wlcg_analysis.use'],
    );
    const second = await loginUntilReturn(world, browser, key, 'wlcg');
    assert.equal((await browser.get(second.pathname + second.search)).status, 303);
    assert.equal(existsSync(join(world.credDir, key)), false);
    assert.deepEqual(world.stored, [
      ['alice', 'wlcg_analysis'],
      ['alice', 'wlcg'],
    ]);
  });

  it('logs in a handle whose label is longer than 100 characters (it was a 404)', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const handle = 'h'.repeat(150);
    const key = await world.writeKeyFile([world.ad('alice', { handle })]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key, `wlcg ${handle}`);
    assert.equal((await browser.get(back.pathname + back.search)).status, 303);
    assert.deepEqual(world.stored, [['alice', `wlcg_${handle}`]]);
  });

  it('refuses a forged, a replayed and a missing state, and writes nothing for them', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);

    const forged = new URL(back);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const f = await browser.get(forged.pathname + forged.search);
    assert.equal(f.status, 400);
    assert.match(await f.text(), /refused: its state belongs to no login of this session/);

    const missing = new URL(back);
    missing.searchParams.delete('state');
    const m = await browser.get(missing.pathname + missing.search);
    assert.equal(m.status, 400);
    assert.match(await m.text(), /sent no state back/);
    assert.deepEqual(await credFiles(world), []);

    // The real return works once...
    assert.equal((await browser.get(back.pathname + back.search)).status, 303);
    const after = await credFiles(world);
    assert.equal(after.length, 3);
    // ...and its replay is refused, leaving the files as they were.
    const r = await browser.get(back.pathname + back.search);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /forged, or already used/);
    assert.deepEqual(await credFiles(world), after);
    assert.ok(world.logs.some((l) => l.type === 'credmon.login-failed' && l.text.includes('user=alice')));
  });

  it('refuses the return of a login left at the provider too long (an injected clock)', async () => {
    let now = Date.now();
    world = await startLoginWorld({ autoApprove: 'alice', clock: () => now });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);
    now += PENDING_LOGIN_MS + 1000;
    const r = await browser.get(back.pathname + back.search);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /the login took too long; start it again/);
    assert.deepEqual(await credFiles(world), []);
  });

  it('refuses a return without the session cookie, or with one signed by another key', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);
    const real = browser.cookie as string;
    const [name, value] = real.split('=') as [string, string];
    const id = value.split('.')[0] as string;
    const { createHmac } = await import('node:crypto');
    const otherKey = randomBytes(24);
    browser.cookie = `${name}=${id}.${createHmac('sha256', otherKey).update(id).digest('base64url')}`;
    const forgedCookie = await browser.get(back.pathname + back.search);
    assert.equal(forgedCookie.status, 400);
    assert.match(await forgedCookie.text(), /no login session here/);
    const stranger = await fetch(new URL(back.pathname + back.search, world.base), { redirect: 'manual' });
    assert.equal(stranger.status, 400);
    assert.deepEqual(await credFiles(world), []);
    // The real browser can still finish.
    browser.cookie = real;
    assert.equal((await browser.get(back.pathname + back.search)).status, 303);
  });

  it('writes only the directory of the key file user: a key file turned to another user is refused', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);
    // Someone rewrites the key file to name bob before the browser comes back.
    await writeFile(join(world.credDir, key), formatKeyFile([world.ad('bob')]));
    const r = await browser.get(back.pathname + back.search);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /now names another user \(bob, not alice\)/);
    assert.deepEqual(await credFiles(world), []);
    assert.equal(existsSync(join(world.credDir, 'bob')), false);
  });

  it('answers an unknown or malformed key with a 404 page, and refuses an oversized or broken key file', async () => {
    world = await startLoginWorld();
    const browser = browserlessClient(world.base);
    const unknown = await browser.get(`/key/${'a'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /unknown, already used, or older than 12 hours/);
    for (const bad of ['ABC', '../../etc/passwd', `${'a'.repeat(63)}g`]) {
      const r = await browser.get(`/key/${encodeURIComponent(bad)}`);
      assert.equal(r.status, 404, bad);
    }
    const big = randomBytes(32).toString('hex');
    await writeFile(join(world.credDir, big), `Provider = "${'x'.repeat(MAX_KEY_FILE_BYTES)}"\n`);
    const tooBig = await browser.get(`/key/${big}`);
    assert.equal(tooBig.status, 500);
    assert.match(await tooBig.text(), /larger than|too large|exceeds/i);
    const broken = randomBytes(32).toString('hex');
    await writeFile(join(world.credDir, broken), 'Provider = "wlcg\nLocalUser = "alice"\n');
    const b = await browser.get(`/key/${broken}`);
    assert.equal(b.status, 500);
    assert.match(await b.text(), /line 1: attribute Provider/);
    assert.equal(browser.cookie, undefined, 'no session for a refused key file');
    assert.deepEqual(await credFiles(world), []);
  });

  it('shows on its card a provider this access point cannot log in to, with the knob to set', async () => {
    world = await startLoginWorld({ provider: { clientId: '' } });
    const key = await world.writeKeyFile([{ ...world.ad('alice'), clientId: '' }]);
    const browser = browserlessClient(world.base);
    const page = await (await browser.get(`/key/${key}`)).text();
    assert.match(page, /cannot log in to wlcg: provider wlcg has no client id: set wlcg_CLIENT_ID/);
    assert.doesNotMatch(page, /data-hook="login"/);
    assert.ok(world.logs.some((l) => l.type === 'credmon.login-failed' && l.text.includes('CONFIG_INVALID')));
  });

  it('refuses a login the key file did not ask for, and a login without a session', async () => {
    world = await startLoginWorld();
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const none = await browser.get('/login/wlcg');
    assert.equal(none.status, 400);
    assert.equal((await browser.get(`/key/${key}`)).status, 200);
    const other = await browser.get('/login/other');
    assert.equal(other.status, 400);
    assert.match(await other.text(), /asks for no provider called &quot;other&quot;/);
  });

  it('gives up on a hung token endpoint at its deadline, writes nothing, and lets the next login work', async () => {
    world = await startLoginWorld({ autoApprove: 'alice', providerTimeoutSeconds: 1 });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);
    world.issuer.setFault('hang');
    const r = await browser.get(back.pathname + back.search);
    assert.equal(r.status, 504);
    assert.match(await r.text(), /no answer from the issuer within 1s/);
    assert.deepEqual(await credFiles(world), []);
    assert.ok(existsSync(join(world.credDir, key)));
    world.issuer.setFault('none');
    const again = await loginUntilReturn(world, browser, key);
    assert.equal((await browser.get(again.pathname + again.search)).status, 303);
    assert.equal((await credFiles(world)).length, 3);
  });

  it('cuts the client secret and the code out of an issuer error that quotes them', async () => {
    world = await startLoginWorld({ autoApprove: 'alice' });
    const key = await world.writeKeyFile([world.ad('alice')]);
    const browser = browserlessClient(world.base);
    const back = await loginUntilReturn(world, browser, key);
    world.issuer.setFault('echo-secrets');
    const r = await browser.get(back.pathname + back.search);
    const text = await r.text();
    assert.equal(r.status, 502);
    assert.match(text, /invalid_request/);
    const code = back.searchParams.get('code') as string;
    for (const secret of [CLIENT_SECRET, code, encodeURIComponent(CLIENT_SECRET)]) {
      assert.ok(!text.includes(secret), 'the error page quotes a secret');
      for (const l of world.logs) assert.ok(!l.text.includes(secret), `the log quotes a secret: ${l.text}`);
    }
    assert.ok(text.includes('[REDACTED]'), 'the echo was there, redacted');
    assert.deepEqual(await credFiles(world), []);
  });
});
