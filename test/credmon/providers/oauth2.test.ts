import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseCredName } from '../../../src/credmon/names.js';
import { createOAuth2Provider } from '../../../src/credmon/providers/oauth2.js';
import type { CredentialRef, ProviderContext } from '../../../src/credmon/providers/types.js';
import { TokenwardenError } from '../../../src/errors.js';
import type { Log } from '../../../src/log/index.js';
import { startTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import { type CredDir, credPath, makeCredDir, readSecureFile, storeCred } from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  addCredmonClient,
  leaksIn,
  loginRefreshToken,
  memoryLog,
  oauth2Provider,
  writeSecretFile,
} from '../oauth-world.js';

describe('the OAuth2 provider on its own, against the test issuer', () => {
  let issuer: TestIssuer;
  let cleanup: () => Promise<void>;
  let cd: CredDir;
  let secretFile: string;

  beforeEach(async () => {
    issuer = await startTestIssuer({ accessTokenTtl: 3600 });
    await addCredmonClient(issuer);
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    cd = await makeCredDir(dir);
    secretFile = await writeSecretFile(dir);
  });
  afterEach(async () => {
    await issuer.close();
    await cleanup();
  });

  function refOf(user: string, name: string): CredentialRef {
    const parsed = parseCredName(name);
    assert.ok(parsed.ok);
    return { user, cred: parsed.value };
  }

  it('a rotated refresh token whose .top save fails is held and saved at the next attempt, never refreshed with the spent one', async () => {
    await storeCred(cd, 'alice', 'myissuer', {
      refresh_token: await loginRefreshToken(issuer, 'alice'),
      scopes: 'storage.read:/',
    });
    const topPath = credPath(cd, 'alice', 'myissuer', 'top');
    let diskFull = false;
    const provider = createOAuth2Provider(oauth2Provider('myissuer', issuer, secretFile), {
      sleep: async () => undefined,
      save: async (path, write) => {
        if (diskFull && path === topPath) throw new Error('ENOSPC: no space left on device');
        await write();
      },
    });
    const { log, text } = memoryLog();
    const ctx = (): ProviderContext => ({
      credDir: cd.path,
      log,
      clock: Date.now,
      fetch,
      signal: AbortSignal.timeout(10_000),
    });
    const ref = refOf('alice', 'myissuer');
    const spent = JSON.parse(await readFile(topPath, 'utf8')).refresh_token as string;

    diskFull = true;
    await assert.rejects(provider.renew(ref, ctx()), (err: unknown) => {
      assert.ok(err instanceof TokenwardenError);
      assert.equal(err.code, 'CREDENTIAL_LOST');
      assert.match(err.message, /held in memory/);
      assert.match(err.hint ?? '', /fix the disk.*log in again/);
      return true;
    });
    assert.equal(JSON.parse(await readFile(topPath, 'utf8')).refresh_token, spent, '.top untouched');
    const refreshes = issuer.stats().tokenRequests.refresh_token ?? 0;
    assert.equal(refreshes, 1);
    // Still failing: still held, still no refresh sent.
    await assert.rejects(provider.renew(ref, ctx()), { code: 'CREDENTIAL_LOST' });

    diskFull = false;
    const outcome = await provider.renew(ref, ctx());
    assert.ok(outcome.expiresAt > Date.now() / 1000);
    assert.equal(issuer.stats().tokenRequests.refresh_token ?? 0, refreshes, 'the retry only saved');
    const saved = JSON.parse(await readFile(topPath, 'utf8'));
    assert.notEqual(saved.refresh_token, spent);
    assert.equal(saved.scopes, 'storage.read:/', 'other keys kept');
    assert.equal(issuer.refreshTokenConsumedAt(saved.refresh_token), undefined, 'the held one is live');
    const use = JSON.parse((await readSecureFile(credPath(cd, 'alice', 'myissuer', 'use'))).toString());
    assert.equal(use.access_token, issuer.accessTokenIssuedFor(spent));

    // The grant is alive: a further renewal refreshes with the saved token.
    await provider.renew(ref, ctx());
    assert.equal(issuer.stats().tokenRequests.refresh_token, refreshes + 1);
    assert.equal(issuer.stats().reuseDetected, 0);
    assert.equal(issuer.stats().revokedGrants, 0);
    assert.deepEqual(leaksIn(text(), issuer.issuedSecrets()), []);
  });

  it('an opaque access token without expires_in is assumed to last 20 min (written into .use), warned once', async () => {
    for (const user of ['alice', 'bob'])
      await storeCred(cd, user, 'myissuer', { refresh_token: await loginRefreshToken(issuer, user) });
    // An issuer whose access tokens are opaque and whose answers carry no expires_in.
    const opaque: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const body = (await response.json()) as Record<string, unknown>;
      if (typeof body.access_token === 'string') body.access_token = `opaque-${body.access_token.length}-x`;
      delete body.expires_in;
      return new Response(JSON.stringify(body), {
        status: response.status,
        headers: { 'content-type': 'application/json' },
      });
    };
    const provider = createOAuth2Provider(oauth2Provider('myissuer', issuer, secretFile));
    const { log, lines } = memoryLog();
    const now = Date.now();
    for (const user of ['alice', 'bob']) {
      const outcome = await provider.renew(refOf(user, 'myissuer'), {
        credDir: cd.path,
        log,
        clock: () => now,
        fetch: opaque,
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(outcome.expiresAt, Math.floor(now / 1000) + 1200);
      const use = JSON.parse((await readSecureFile(credPath(cd, user, 'myissuer', 'use'))).toString());
      assert.equal(use.expires_in, 1200);
      assert.match(use.access_token, /^opaque-/);
    }
    const warnings = lines.filter((l) => /no expires_in/.test(l.text));
    assert.equal(warnings.length, 1, 'warned once');
  });

  it('reads the client secret file as the CredD does: up to the first control character, blanks kept; not readable by others', async () => {
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: await loginRefreshToken(issuer, 'alice') });
    // The same client, its secret now ending in a blank (the CredD sends it as it is, blank included).
    const odd = 'secret with blanks ';
    await issuer.addClient({
      client_id: 'credmon',
      client_secret: odd,
      grant_types: ['refresh_token'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'openid offline_access storage.read:/ storage.create:/ compute.read',
    });
    await writeFile(secretFile, `${odd}\r\nsecond line`, { mode: 0o600 });
    const provider = createOAuth2Provider(oauth2Provider('myissuer', issuer, secretFile));
    const { log, text } = memoryLog();
    const ctx = {
      credDir: cd.path,
      log,
      clock: Date.now,
      fetch,
      signal: AbortSignal.timeout(10_000),
    };
    await provider.prepare?.(ctx);
    await provider.renew(refOf('alice', 'myissuer'), ctx);
    assert.equal(issuer.stats().tokenRequests.refresh_token, 1);
    assert.equal(issuer.stats().tokenErrors.invalid_client ?? 0, 0);
    assert.deepEqual(leaksIn(text(), [odd]), []);

    await chmod(secretFile, 0o644);
    await assert.rejects(provider.prepare?.(ctx) ?? Promise.resolve(), {
      code: 'CONFIG_INVALID',
      message: /myissuer_CLIENT_SECRET_FILE: the client secret file .* may be read by others \(mode 644\)/,
    });
  });

  it('lets go of every secret it gave the log once a renewal or a due check ends (the .meta client secret too)', async () => {
    await storeCred(cd, 'alice', 'myissuer', { refresh_token: await loginRefreshToken(issuer, 'alice') });
    await writeFile(
      credPath(cd, 'alice', 'myissuer', 'meta'),
      JSON.stringify({ client_id: 'credmon', client_secret: 'legacy-meta-secret-1234' }),
      { mode: 0o600 },
    );
    const { log: inner, text } = memoryLog();
    let held = 0;
    const log: Log = {
      ...inner,
      emit: (event) => inner.emit(event),
      addSecret(value) {
        held++;
        const forget = inner.addSecret(value);
        let done = false;
        return () => {
          if (!done) held--;
          done = true;
          forget();
        };
      },
    };
    const provider = createOAuth2Provider(oauth2Provider('myissuer', issuer, secretFile));
    const ctx = { credDir: cd.path, log, clock: Date.now, fetch, signal: AbortSignal.timeout(10_000) };
    const ref = refOf('alice', 'myissuer');
    await provider.dueAt?.(ref, ctx);
    for (let i = 0; i < 3; i++) await provider.renew(ref, ctx);
    assert.equal(held, 0, 'no registration left behind');
    assert.equal(issuer.stats().tokenRequests.refresh_token, 3);
    assert.deepEqual(leaksIn(text(), ['legacy-meta-secret-1234', ...issuer.issuedSecrets()]), []);
  });
});
