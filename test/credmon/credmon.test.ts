import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CredmonConfig } from '../../src/credmon/config/types.js';
import { type Credmon, createCredmon } from '../../src/credmon/credmon.js';
import { createOAuth2Provider } from '../../src/credmon/providers/oauth2.js';
import { startTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { decodeToken } from '../../src/tokens/index.js';
import {
  type CredDir,
  credPath,
  makeCredDir,
  markUser,
  readSecureFile,
  storeCred,
  waitForFile,
  writeKeyFile,
} from '../helpers/credd.js';
import { tempDir } from '../helpers/tmp.js';
import {
  addCredmonClient,
  CLIENT_SECRET,
  credmonConfig,
  leaksIn,
  loginRefreshToken,
  memoryLog,
  oauth2Provider,
  writeSecretFile,
} from './oauth-world.js';

const SCOPES = 'storage.read:/,compute.read';

describe('credmon engine with the OAuth2 provider against the test issuer', () => {
  let issuer: TestIssuer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let cd: CredDir;
  let secretFile: string;
  let credmon: Credmon | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    issuer = await startTestIssuer({ accessTokenTtl: 3600 });
    await addCredmonClient(issuer);
    ({ dir, cleanup } = await tempDir());
    cd = await makeCredDir(dir);
    secretFile = await writeSecretFile(dir);
  });
  afterEach(async () => {
    await credmon?.close();
    credmon = undefined;
    for (const c of closers.splice(0)) await c();
    await issuer.close();
    await cleanup();
  });

  function config(over: Partial<CredmonConfig> = {}): CredmonConfig {
    return credmonConfig(cd.path, { oauth2: [oauth2Provider('myissuer', issuer, secretFile)], ...over });
  }

  it('refreshes a .top into a .use the starter can read, rotation saved in .top first, unknown keys kept, no client secret anywhere', async () => {
    const refresh = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', {
      refresh_token: refresh,
      scopes: SCOPES,
      audience: 'https://storage.example',
      site_note: 'kept',
    });
    // A .meta as the Python web app writes it: with the client secret in it.
    await writeFile(
      credPath(cd, 'alice', 'myissuer', 'meta'),
      JSON.stringify({
        client_id: 'credmon',
        client_secret: CLIENT_SECRET,
        token_url: `${issuer.url}/token`,
        use_refresh_token: true,
      }),
      { mode: 0o600 },
    );
    const { log, text } = memoryLog();
    credmon = createCredmon({ config: config(), log, pid: 4242 });
    await credmon.start();

    const use = JSON.parse((await readSecureFile(credPath(cd, 'alice', 'myissuer', 'use'))).toString());
    assert.equal(use.refresh_token, undefined, '.use is the response minus refresh_token');
    assert.match(use.token_type, /^bearer$/i);
    assert.equal(typeof use.expires_in, 'number');
    const claims = decodeToken(use.access_token).claims;
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(String(claims.scope).split(' ').sort(), ['compute.read', 'storage.read:/']);

    const top = JSON.parse(await readFile(credPath(cd, 'alice', 'myissuer', 'top'), 'utf8'));
    assert.notEqual(top.refresh_token, refresh, 'rotated');
    assert.ok(issuer.refreshTokenConsumedAt(refresh) !== undefined);
    assert.equal(issuer.accessTokenIssuedFor(refresh), use.access_token);
    assert.equal(top.site_note, 'kept');
    assert.equal(top.scopes, SCOPES);
    assert.equal(top.audience, 'https://storage.example');
    const topStat = await stat(credPath(cd, 'alice', 'myissuer', 'top'));
    const useStat = await stat(credPath(cd, 'alice', 'myissuer', 'use'));
    assert.equal(topStat.mode & 0o777, 0o400);
    assert.equal(useStat.mode & 0o777, 0o400);
    // That .top is written before .use: the next test (mtimes are too coarse to tell).

    const meta = JSON.parse(await readFile(credPath(cd, 'alice', 'myissuer', 'meta'), 'utf8'));
    assert.equal(meta.client_secret, undefined, '.meta rewritten without the client secret');
    assert.equal(meta.client_id, 'credmon');
    assert.match(text(), /credmon\.warning .*held a client secret/);

    // Process contract.
    assert.equal(await readFile(join(cd.path, 'pid'), 'utf8'), '4242');
    await stat(join(cd.path, 'CREDMON_COMPLETE'));
    // No client secret in any file of the credential directory, and no secret in the log.
    for (const f of await walk(cd.path)) {
      assert.ok(!(await readFile(f, 'utf8')).includes(CLIENT_SECRET), `${f} holds the client secret`);
    }
    assert.deepEqual(leaksIn(text(), [...issuer.issuedSecrets(), CLIENT_SECRET, top.refresh_token]), []);
    const row = credmon.snapshot().rows.find((r) => r.id === 'alice/myissuer');
    assert.equal(row?.state, 'ok');
    assert.ok(row?.nextRenewalAt !== undefined && row.expiresAt !== undefined);
    // Half of a one-hour token, at most: not before the next rescan of a 3600 s interval.
    assert.ok(row.nextRenewalAt <= (row.issuedAt ?? 0) + 1800 + 1);
  });

  it('the rotated refresh token is saved in .top before .use is written: a .use that cannot be written leaves .top rotated', async () => {
    const refresh = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: refresh, scopes: SCOPES });
    const aliceDir = join(cd.path, 'alice');
    const usePath = credPath(cd, 'alice', 'myissuer', 'use');
    await assert.rejects(lstat(usePath), { code: 'ENOENT' });
    const { log } = memoryLog();
    credmon = createCredmon({
      config: config(),
      log,
      // The same provider, its save retries without waiting.
      providers: [
        createOAuth2Provider(oauth2Provider('myissuer', issuer, secretFile), { sleep: async () => {} }),
      ],
    });
    issuer.setFault('slow');
    const starting = credmon.start();
    // Room for .use is reserved (its temp file exists) before the refresh request, which the issuer holds
    // for 2 s: meanwhile a directory takes .use's place, so every write of .use fails.
    const reservedUse = async () =>
      (await readdir(aliceDir)).some((n) => n.startsWith('.myissuer.use.') && n.endsWith('.tmp'));
    for (let i = 0; !(await reservedUse()); i++) {
      assert.ok(i < 500, 'the renewal never reserved room for .use');
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(issuer.refreshTokenConsumedAt(refresh), undefined, 'the request is still held');
    await mkdir(usePath);
    await writeFile(join(usePath, 'keep'), '');
    await starting;
    issuer.setFault('none');

    assert.ok(issuer.refreshTokenConsumedAt(refresh) !== undefined, 'the grant was spent');
    const top = JSON.parse(await readFile(credPath(cd, 'alice', 'myissuer', 'top'), 'utf8'));
    assert.notEqual(top.refresh_token, refresh, '.top holds the rotated refresh token');
    assert.equal(issuer.refreshTokenConsumedAt(top.refresh_token), undefined, 'and it is live');
    assert.equal(top.scopes, SCOPES);
    assert.ok((await lstat(usePath)).isDirectory(), '.use was never written');
    const row = credmon.snapshot().rows.find((r) => r.id === 'alice/myissuer');
    assert.notEqual(row?.state, 'ok');
    assert.match(row?.lastError?.message ?? '', /myissuer\.use/);
  });

  it('a rescan with nothing due leaves the files alone; a new .top (the CredD, then SIGHUP) is renewed at once', async () => {
    const refresh = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: refresh, scopes: SCOPES });
    const { log } = memoryLog();
    credmon = createCredmon({ config: config(), log });
    await credmon.start();
    const first = await readFile(credPath(cd, 'alice', 'myissuer', 'use'), 'utf8');
    const firstTop = await readFile(credPath(cd, 'alice', 'myissuer', 'top'), 'utf8');
    await credmon.rescan();
    assert.equal(await readFile(credPath(cd, 'alice', 'myissuer', 'use'), 'utf8'), first, 'nothing due');
    // The CredD stores a new login for the same user, and a first one for bob.
    const newer = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: newer, scopes: SCOPES });
    const bobs = await loginRefreshToken(issuer, 'bob');
    await storeCred(cd, 'bob', 'myissuer', { refresh_token: bobs, scopes: SCOPES });
    await markUser(cd, 'bob');
    await credmon.rescan('SIGHUP');
    assert.notEqual(await readFile(credPath(cd, 'alice', 'myissuer', 'use'), 'utf8'), first);
    assert.notEqual(await readFile(credPath(cd, 'alice', 'myissuer', 'top'), 'utf8'), firstTop);
    assert.ok(issuer.refreshTokenConsumedAt(newer) !== undefined);
    const bobUse = JSON.parse((await readSecureFile(credPath(cd, 'bob', 'myissuer', 'use'))).toString());
    assert.equal(decodeToken(bobUse.access_token).claims.sub, 'bob');
    // bob.mark is the CredD's, not a user.
    assert.deepEqual(
      credmon
        .snapshot()
        .rows.map((r) => r.id)
        .sort(),
      ['alice/myissuer', 'bob/myissuer'],
    );
  });

  it('invalid_grant: .top kept, needs-login, not retried until .top changes; use_refresh_token false is never refreshed', async () => {
    await storeCred(cd, 'carol', 'myissuer', {
      refresh_token: 'not-a-valid-refresh-token-1234',
      scopes: SCOPES,
    });
    await storeCred(cd, 'dave', 'myissuer', { refresh_token: 'never-used-refresh-token-5678' });
    await writeFile(
      credPath(cd, 'dave', 'myissuer', 'meta'),
      JSON.stringify({ client_id: 'credmon', token_url: `${issuer.url}/token`, use_refresh_token: false }),
      { mode: 0o400 },
    );
    const { log, text } = memoryLog();
    credmon = createCredmon({ config: config(), log });
    await credmon.start();
    const topBefore = await readFile(credPath(cd, 'carol', 'myissuer', 'top'), 'utf8');
    const rows = new Map(credmon.snapshot().rows.map((r) => [r.id, r]));
    assert.equal(rows.get('carol/myissuer')?.state, 'needs-login');
    assert.equal(rows.get('carol/myissuer')?.lastError?.code, 'NEEDS_LOGIN');
    assert.equal(rows.get('carol/myissuer')?.nextRenewalAt, undefined);
    assert.equal(credmon.snapshot().warnings[0]?.kind, 'needs-login');
    await assert.rejects(lstat(credPath(cd, 'carol', 'myissuer', 'use')), { code: 'ENOENT' });
    await assert.rejects(lstat(credPath(cd, 'dave', 'myissuer', 'use')), { code: 'ENOENT' });
    const requests = () => {
      const st = issuer.stats();
      return [...Object.values(st.tokenRequests), ...Object.values(st.tokenErrors)].reduce(
        (a, b) => a + b,
        0,
      );
    };
    const tokenRequests = requests();
    await credmon.rescan();
    await credmon.rescan();
    assert.equal(requests(), tokenRequests, 'a refused refresh token is not sent again');
    assert.equal(await readFile(credPath(cd, 'carol', 'myissuer', 'top'), 'utf8'), topBefore, '.top kept');
    assert.equal(text().match(/credmon\.needs-login/g)?.length, 1, 'logged once');
    assert.match(text(), /credmon\.needs-login user=carol cred=myissuer provider=myissuer/);
    // A new login replaces .top: renewed again.
    await storeCred(cd, 'carol', 'myissuer', {
      refresh_token: await loginRefreshToken(issuer, 'carol'),
      scopes: SCOPES,
    });
    await credmon.rescan();
    assert.equal(credmon.snapshot().rows.find((r) => r.id === 'carol/myissuer')?.state, 'ok');
    await readSecureFile(credPath(cd, 'carol', 'myissuer', 'use'));
  });

  it('a hung issuer holds up only its own users; bad files are skipped, logged once, nothing deleted', async () => {
    const hung = await startTestIssuer();
    closers.push(() => hung.close());
    hung.setFault('hang');
    const refresh = await loginRefreshToken(issuer, 'alice');
    const kates = await loginRefreshToken(issuer, 'kate');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: refresh, scopes: SCOPES });
    await storeCred(cd, 'erin', 'slow', { refresh_token: 'a-token-the-hung-issuer-never-answers' });
    // What a pass must skip without stopping: .top not JSON, oversized, a symlink, bad names.
    await storeCred(cd, 'frank', 'myissuer', 'this is not JSON');
    await storeCred(cd, 'gina', 'myissuer', { refresh_token: 'x'.repeat(300 * 1024) });
    await mkdir(join(cd.path, 'hank'), { mode: 0o700 });
    await symlink(credPath(cd, 'alice', 'myissuer', 'top'), credPath(cd, 'hank', 'myissuer', 'top'));
    await storeCred(cd, 'ivan', 'myissuer_', { refresh_token: 'trailing' }, { unchecked: true });
    await storeCred(cd, 'ivan', 'my%issuer', { refresh_token: 'bad-chars' }, { unchecked: true });
    await mkdir(join(cd.path, 'bad user'), { mode: 0o700 });
    await storeCred(cd, 'judy', 'unknownsvc', { refresh_token: 'no-provider' });
    const before = await walk(cd.path);

    const { log, text } = memoryLog();
    credmon = createCredmon({
      config: config({
        oauth2: [oauth2Provider('myissuer', issuer, secretFile), oauth2Provider('slow', hung, secretFile)],
      }),
      log,
      callTimeoutMs: 3000,
    });
    let started = false;
    const starting = credmon.start().then(() => {
      started = true;
    });
    await waitForFile(credPath(cd, 'alice', 'myissuer', 'use'), 0, 10_000);
    assert.equal(started, false, 'alice renewed while the hung issuer still holds erin');
    // The CredD stores a new login meanwhile and signals: served at once, not after erin's deadline.
    await storeCred(cd, 'kate', 'myissuer', { refresh_token: kates, scopes: SCOPES });
    void credmon.rescan('SIGHUP');
    await waitForFile(credPath(cd, 'kate', 'myissuer', 'use'), 0, 10_000);
    assert.equal(started, false, 'kate renewed while the hung issuer still holds erin');
    await starting;
    const rows = new Map(credmon.snapshot().rows.map((r) => [r.id, r]));
    assert.equal(rows.get('alice/myissuer')?.state, 'ok');
    assert.equal(rows.get('erin/slow')?.state, 'failing');
    assert.equal(rows.get('erin/slow')?.lastError?.code, 'TIMEOUT');
    assert.ok((rows.get('erin/slow')?.nextRenewalAt ?? 0) > Date.now() / 1000, 'retried later, with backoff');
    assert.equal(rows.get('frank/myissuer')?.state, 'broken');
    assert.match(rows.get('frank/myissuer')?.lastError?.message ?? '', /frank\/myissuer\.top is not JSON/);
    assert.equal(rows.has('gina/myissuer'), false);
    assert.equal(rows.has('hank/myissuer'), false);
    await credmon.rescan();
    const out = text();
    for (const pattern of [
      /credmon\.skipped path=\S+gina\/myissuer\.top reason="larger than 262144 bytes"/,
      /credmon\.skipped path=\S+hank\/myissuer\.top reason="a symbolic link"/,
      /credmon\.skipped path=\S+ivan\/myissuer_\.top reason="not a valid credential name \(trailing-underscore\)"/,
      /credmon\.skipped path=\S+my%issuer\.top reason="not a valid credential name \(characters\)"/,
      /credmon\.skipped path="\S+bad user" reason="not a valid user name"/,
      /credmon\.skipped path=\S+judy\/unknownsvc\.top reason="no provider named unknownsvc/,
      /credmon\.failed user=frank cred=myissuer provider=myissuer code=TOKEN_INVALID/,
      /credmon\.failed user=erin cred=slow provider=slow code=TIMEOUT/,
    ]) {
      assert.match(out, pattern);
      assert.equal(out.split('\n').filter((l) => pattern.test(l)).length, 1, `once: ${pattern}`);
    }
    // Nothing deleted: every file there before is there still.
    const after = new Set(await walk(cd.path));
    for (const f of before) assert.ok(after.has(f), `${f} was deleted`);
    assert.deepEqual(leaksIn(out, [...issuer.issuedSecrets(), CLIENT_SECRET]), []);
  });

  it('a hung issuer with more due credentials than slots does not hold back CREDMON_COMPLETE past its bound; the other provider renews', async () => {
    const hung = await startTestIssuer();
    closers.push(() => hung.close());
    hung.setFault('hang');
    const refresh = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: refresh, scopes: SCOPES });
    // Five due on the hung issuer, two slots: three wait behind two renewals that hang for 30 s each.
    for (const user of ['erin', 'fred', 'gus', 'hal', 'ivy'])
      await storeCred(cd, user, 'slow', { refresh_token: `never-answered-${user}` });
    const { log } = memoryLog();
    credmon = createCredmon({
      config: config({
        oauth2: [oauth2Provider('myissuer', issuer, secretFile), oauth2Provider('slow', hung, secretFile)],
      }),
      log,
      callTimeoutMs: 30_000,
      concurrency: { perProvider: 2 },
      drainTimeoutMs: 100,
      completeWaitMs: 300,
    });
    const t0 = Date.now();
    const outcome = await Promise.race([
      credmon.start().then(() => 'started'),
      new Promise((r) => setTimeout(r, 10_000, 'still waiting')),
    ]);
    assert.equal(outcome, 'started', 'start() resolves once the bound has passed');
    assert.ok(Date.now() - t0 < 10_000);
    await stat(join(cd.path, 'CREDMON_COMPLETE'));
    assert.equal(credmon.notReady(), undefined, 'ready: the first pass is complete');
    await readSecureFile(credPath(cd, 'alice', 'myissuer', 'use'));
    assert.equal(credmon.inFlight(), 2, 'the hung renewals go on after CREDMON_COMPLETE');
    // A SIGHUP while they hang is complete within the bound too.
    await rm(join(cd.path, 'CREDMON_COMPLETE'));
    const again = await Promise.race([
      credmon.rescan().then(() => 'done'),
      new Promise((r) => setTimeout(r, 10_000, 'still waiting')),
    ]);
    assert.equal(again, 'done');
    await stat(join(cd.path, 'CREDMON_COMPLETE'));
  });

  it('a user directory that cannot be listed for one pass keeps its credentials scheduled and is listed again next pass', async () => {
    const refresh = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: refresh, scopes: SCOPES });
    const aliceDir = join(cd.path, 'alice');
    let failAlice = false;
    let aliceListings = 0;
    const readDir = (path: string) => {
      if (path === aliceDir) {
        aliceListings++;
        if (failAlice) throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
      }
      return readdirSync(path, { withFileTypes: true });
    };
    const { log, text } = memoryLog();
    credmon = createCredmon({ config: config(), log, readDir });
    await credmon.start();
    const row = () => credmon?.snapshot().rows.find((r) => r.id === 'alice/myissuer');
    const renewedAt = row()?.nextRenewalAt;
    assert.equal(row()?.state, 'ok');
    // The directory changes (a quick pass lists it) while listing it fails.
    await writeFile(join(aliceDir, 'note'), '');
    failAlice = true;
    await credmon.rescan();
    assert.match(text(), /credmon\.skipped path=\S+alice reason="cannot list it: EMFILE"/);
    assert.equal(row()?.state, 'ok', 'still known');
    assert.equal(row()?.nextRenewalAt, renewedAt, 'still scheduled');
    // The next quick pass lists it again, though its identity has not changed since.
    failAlice = false;
    const before = aliceListings;
    await credmon.rescan();
    assert.equal(aliceListings, before + 1, 'listed again');
    assert.equal(row()?.nextRenewalAt, renewedAt);
    await credmon.rescan();
    assert.equal(aliceListings, before + 1, 'then skipped while unchanged');
  });

  it('two credmons on one credential never send one refresh token twice (flock on .top): the grant survives', async () => {
    const refreshes = await Promise.all(['alice', 'bob', 'carol'].map((u) => loginRefreshToken(issuer, u)));
    for (const [i, user] of ['alice', 'bob', 'carol'].entries())
      await storeCred(cd, user, 'myissuer', { refresh_token: refreshes[i] as string, scopes: SCOPES });
    issuer.setFault('slow');
    const { log } = memoryLog();
    const a = createCredmon({ config: config(), log, pid: 1 });
    const b = createCredmon({ config: config(), log, pid: 2 });
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    await Promise.all([a.start(), b.start()]);
    issuer.setFault('none');
    assert.equal(issuer.stats().revokedGrants, 0, 'no reuse detected');
    assert.equal(issuer.stats().tokenErrors.invalid_grant ?? 0, 0);
    for (const user of ['alice', 'bob', 'carol']) {
      await readSecureFile(credPath(cd, user, 'myissuer', 'use'));
      // The refresh token left in .top is the live one: it refreshes once more.
      const top = JSON.parse(await readFile(credPath(cd, user, 'myissuer', 'top'), 'utf8'));
      assert.equal(
        issuer.refreshTokenConsumedAt(top.refresh_token),
        undefined,
        `${user}: .top holds the newest`,
      );
    }
  });

  it('close() lets a refresh in flight finish and save its rotation; past the drain deadline it is aborted, nothing written', async () => {
    const refresh = await loginRefreshToken(issuer, 'alice');
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: refresh, scopes: SCOPES });
    issuer.setFault('slow');
    const { log } = memoryLog();
    credmon = createCredmon({ config: config(), log });
    const starting = credmon.start();
    while (credmon.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    await credmon.close();
    await starting;
    // The issuer answered after the stop began: its rotated refresh token is in .top, the access token in .use.
    const top = JSON.parse(await readFile(credPath(cd, 'alice', 'myissuer', 'top'), 'utf8'));
    assert.ok(issuer.refreshTokenConsumedAt(refresh) !== undefined);
    assert.notEqual(top.refresh_token, refresh);
    const use = JSON.parse((await readSecureFile(credPath(cd, 'alice', 'myissuer', 'use'))).toString());
    assert.equal(issuer.accessTokenIssuedFor(refresh), use.access_token);

    issuer.setFault('none');
    const bobs = await loginRefreshToken(issuer, 'bob');
    issuer.setFault('hang');
    await storeCred(cd, 'bob', 'myissuer', { refresh_token: bobs, scopes: SCOPES });
    credmon = createCredmon({ config: config(), log, drainTimeoutMs: 200 });
    const again = credmon.start();
    while (credmon.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    await credmon.close();
    await again;
    await assert.rejects(lstat(credPath(cd, 'bob', 'myissuer', 'use')), { code: 'ENOENT' });
    assert.equal(credmon.inFlight(), 0);
  });

  it('refuses a credential directory with an "other" bit; removes key files older than 12 h only', async () => {
    const { dir: d2, cleanup: c2 } = await tempDir();
    closers.push(c2);
    const open = await makeCredDir(d2, { mode: 0o2775 });
    const { log } = memoryLog();
    await assert.rejects(createCredmon({ config: credmonConfig(open.path), log }).start(), {
      code: 'CONFIG_INVALID',
      message: /readable, writable or searchable by others \(mode 2775\)/,
    });
    const stale = await writeKeyFile(cd, [{ Provider: 'myissuer', LocalUser: 'alice' }]);
    // The CredD's clock is the file system's: a credmon whose clock is 13 h ahead sees it as stale.
    await writeFile(join(cd.path, 'CREDMON_COMPLETE'), '');
    credmon = createCredmon({ config: config(), log, clock: () => Date.now() + 13 * 3600 * 1000 });
    const fresh = await writeKeyFile(cd, [{ Provider: 'myissuer', LocalUser: 'bob' }]);
    await credmon.start();
    const names = await readdir(cd.path);
    assert.ok(!names.includes(stale) && !names.includes(fresh), 'both are 13 h old by this clock');
    await credmon.close();
    const kept = await writeKeyFile(cd, [{ Provider: 'myissuer', LocalUser: 'carol' }]);
    credmon = createCredmon({ config: config(), log });
    await credmon.start();
    assert.ok((await readdir(cd.path)).includes(kept), 'a fresh key file is kept');
  });
});

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
