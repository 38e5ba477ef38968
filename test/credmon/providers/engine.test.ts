import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CredmonConfig } from '../../../src/credmon/config/types.js';
import { type Credmon, createCredmon } from '../../../src/credmon/credmon.js';
import { createClientProvider } from '../../../src/credmon/providers/client.js';
import { createLocalProvider } from '../../../src/credmon/providers/local.js';
import type { CredentialProvider } from '../../../src/credmon/providers/types.js';
import { startTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import { decodeToken } from '../../../src/tokens/index.js';
import {
  type CredDir,
  credPath,
  makeCredDir,
  readSecureFile,
  storeCred,
  storeLocalCred,
} from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  addCredmonClient,
  CLIENT_SECRET,
  credmonConfig,
  leaksIn,
  loginRefreshToken,
  memoryLog,
  oauth2Provider,
  writeSecretFile,
} from '../oauth-world.js';
import { clientConfig, localConfig, writeMapfile } from './fixtures.js';

const ROBOT_SECRET = 'robot-secret-0a1b2c3d4e5f6789';

describe('credmon engine with local, client-credentials and OAuth2 providers in one credential directory', () => {
  let issuer: TestIssuer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let cd: CredDir;
  let secretFile: string;
  let robotSecretFile: string;
  let credmon: Credmon | undefined;

  beforeEach(async () => {
    issuer = await startTestIssuer({ accessTokenTtl: 3600 });
    await addCredmonClient(issuer);
    await issuer.addClient({
      client_id: 'robot',
      client_secret: ROBOT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'storage.read:/ compute.read',
    });
    ({ dir, cleanup } = await tempDir('tw-engine-'));
    cd = await makeCredDir(dir);
    secretFile = await writeSecretFile(dir);
    robotSecretFile = join(dir, 'robot.secret');
    await writeFile(robotSecretFile, ROBOT_SECRET, { mode: 0o600 });
  });
  afterEach(async () => {
    await credmon?.close();
    credmon = undefined;
    await issuer.close();
    await cleanup();
  });

  function setup(over: { local?: ReturnType<typeof localConfig>[]; robotTokenUrl?: string } = {}): {
    config: CredmonConfig;
    providers: CredentialProvider[];
  } {
    const local = over.local ?? [localConfig(dir)];
    const client = [
      clientConfig({
        name: 'robot',
        clientId: 'robot',
        clientSecretFile: robotSecretFile,
        tokenUrl: over.robotTokenUrl ?? `${issuer.url}/token`,
        scopes: ['storage.read:/user/{username}'],
      }),
    ];
    const config = credmonConfig(cd.path, {
      oauth2: [oauth2Provider('myissuer', issuer, secretFile)],
      local,
      client,
    });
    return {
      config,
      providers: [...local.map((c) => createLocalProvider(c)), ...client.map((c) => createClientProvider(c))],
    };
  }

  it('writes every .use (local, client, OAuth2) for users laid out by the CredD, each passing read_secure_file, no secret anywhere', async () => {
    const users = ['alice', 'bob'];
    const refresh = new Map<string, string>();
    for (const u of users) {
      await storeLocalCred(cd, u, 'scitokens');
      await storeLocalCred(cd, u, 'robot');
      refresh.set(u, await loginRefreshToken(issuer, u));
      await storeCred(cd, u, 'myissuer', {
        refresh_token: refresh.get(u) as string,
        scopes: 'storage.read:/,compute.read',
      });
    }
    const { config, providers } = setup();
    const { log, text } = memoryLog();
    credmon = createCredmon({ config, log, providers });
    await credmon.start();
    await stat(join(cd.path, 'CREDMON_COMPLETE'));

    for (const u of users) {
      const local = JSON.parse((await readSecureFile(credPath(cd, u, 'scitokens', 'use'))).toString());
      assert.equal(decodeToken(local.access_token).claims.sub, u);
      assert.equal(decodeToken(local.access_token).claims.ver, 'scitoken:2.0');
      const robot = JSON.parse((await readSecureFile(credPath(cd, u, 'robot', 'use'))).toString());
      assert.deepEqual(decodeToken(robot.access_token).scope, [`storage.read:/user/${u}`]);
      const oauth = JSON.parse((await readSecureFile(credPath(cd, u, 'myissuer', 'use'))).toString());
      assert.equal(decodeToken(oauth.access_token).claims.sub, u);
    }
    const rows = credmon.snapshot().rows;
    assert.equal(rows.length, 6);
    assert.ok(
      rows.every((r) => r.state === 'ok'),
      JSON.stringify(rows.map((r) => [r.id, r.state])),
    );
    // The generated key was announced, with where to publish it.
    assert.match(
      text(),
      /generated a new ES256 key pair .* publish the public key at https:\/\/ap\.example\.org/,
    );
    // The site's private key (its base64 lines) appears nowhere but in its own file.
    const keyLines = (await readFile(config.local[0]?.privateKeyPath as string, 'utf8'))
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'));
    const secrets = [...issuer.issuedSecrets(), CLIENT_SECRET, ROBOT_SECRET, ...keyLines];
    assert.deepEqual(leaksIn(text(), secrets), []);
    for (const u of users)
      for (const f of await readdir(join(cd.path, u))) {
        const body = await readFile(join(cd.path, u, f), 'utf8');
        assert.deepEqual(
          leaksIn(body, [ROBOT_SECRET, CLIENT_SECRET, ...keyLines]),
          [],
          `${u}/${f} holds a secret`,
        );
      }
  });

  it('an unreadable key refuses the start (CONFIG_INVALID naming the knob) before any .use is written', async () => {
    const keyPath = join(dir, 'broken.pem');
    await writeFile(keyPath, 'not a key\n', { mode: 0o600 });
    await storeLocalCred(cd, 'alice', 'scitokens');
    const { config, providers } = setup({
      local: [localConfig(dir, { privateKeyPath: keyPath, publicKeyPath: join(dir, 'broken.pub') })],
    });
    credmon = createCredmon({ config, log: memoryLog().log, providers });
    await assert.rejects(credmon.start(), {
      code: 'CONFIG_INVALID',
      message: /LOCAL_CREDMON_SCITOKENS_PRIVATE_KEY|broken\.pem/,
    });
    await assert.rejects(stat(credPath(cd, 'alice', 'scitokens', 'use')), { code: 'ENOENT' });
  });

  it('a provider broken at run time (its map file gone) and a hung client issuer stop nobody else; nothing is deleted', async () => {
    const mapfile = join(dir, 'groups.map');
    await writeMapfile(mapfile, ['* alice physics', '* bob physics']);
    const hung = await startTestIssuer();
    try {
      hung.setFault('hang');
      const local = [
        localConfig(dir, {
          name: 'grouped',
          authzGroupTemplate: 'read:/groups/{groupname}',
          authzGroupMapfile: mapfile,
        }),
        localConfig(dir, { name: 'scitokens' }),
      ];
      const { config, providers } = setup({ local, robotTokenUrl: `${hung.url}/token` });
      for (const u of ['alice', 'bob']) {
        await storeLocalCred(cd, u, 'grouped');
        await storeLocalCred(cd, u, 'scitokens');
        await storeLocalCred(cd, u, 'robot');
      }
      const { log, text } = memoryLog();
      credmon = createCredmon({ config, log, providers, callTimeoutMs: 1500 });
      await credmon.start();
      // First pass: the local tokens are written, the robot ones timed out.
      for (const u of ['alice', 'bob']) {
        await readSecureFile(credPath(cd, u, 'grouped', 'use'));
        await readSecureFile(credPath(cd, u, 'scitokens', 'use'));
        await assert.rejects(stat(credPath(cd, u, 'robot', 'use')), { code: 'ENOENT' });
      }
      assert.match(text(), /credmon\.failed .*user=alice.*cred=robot.*code=TIMEOUT/);

      // The map file disappears; a new .top for carol arrives for both local providers.
      await rm(mapfile);
      await storeLocalCred(cd, 'carol', 'grouped');
      await storeLocalCred(cd, 'carol', 'scitokens');
      await credmon.rescan('test');
      await readSecureFile(credPath(cd, 'carol', 'scitokens', 'use'));
      await assert.rejects(stat(credPath(cd, 'carol', 'grouped', 'use')), { code: 'ENOENT' });
      assert.match(
        text(),
        /credmon\.failed .*user=carol.*cred=grouped.*code=CONFIG_INVALID.*group map file .*does not exist/,
      );
      // Nothing was deleted: every .top is there, alice's and bob's tokens of both local providers too.
      for (const u of ['alice', 'bob'])
        for (const n of ['grouped', 'scitokens', 'robot']) await stat(credPath(cd, u, n, 'top'));
      for (const n of ['grouped', 'scitokens']) await stat(credPath(cd, 'carol', n, 'top'));
      for (const u of ['alice', 'bob']) await stat(credPath(cd, u, 'grouped', 'use'));
      // Logged once per credential, not once per pass.
      await credmon.rescan('test');
      const failures = text()
        .split('\n')
        .filter((l) => /credmon\.failed .*user=carol.*cred=grouped/.test(l));
      assert.equal(failures.length, 1, failures.join('\n'));
    } finally {
      await credmon?.close();
      credmon = undefined;
      await hung.close();
    }
  });

  /** alice, bob and carol with a local credential each, and the real local provider noting each renew. */
  async function recordingWorld() {
    for (const u of ['alice', 'bob', 'carol']) await storeLocalCred(cd, u, 'scitokens');
    const local = localConfig(dir);
    const real = createLocalProvider(local);
    const events: string[] = [];
    const recording: CredentialProvider = {
      ...real,
      renew: (ref, ctx) => {
        events.push(`renew ${ref.user}`);
        return real.renew(ref, ctx);
      },
    };
    return { local, recording, events };
  }

  it('a SIGHUP pass renews a new user’s credential before it lists the users it already knows', async () => {
    const { local, recording, events } = await recordingWorld();
    let daveWaited = true;
    // The directory as the system lists it, but the new user last: the order that used to start it last.
    const readDir = (path: string) => {
      const entries = readdirSync(path, { withFileTypes: true });
      if (path === cd.path)
        return entries.sort((a, b) => (a.name === 'dave' ? 1 : b.name === 'dave' ? -1 : 0));
      const user = path.slice(cd.path.length + 1);
      events.push(`list ${user}`);
      if (user !== 'dave' && !existsSync(credPath(cd, 'dave', 'scitokens', 'use'))) daveWaited = false;
      return entries;
    };
    const config = credmonConfig(cd.path, { local: [local] });
    // A generous bound for the new user's renewal, so a slow disk under CI cannot outrun it.
    credmon = createCredmon({
      config,
      log: memoryLog().log,
      providers: [recording],
      readDir,
      firstCredentialsWaitMs: 10_000,
    });
    await credmon.start();
    // Known users change too (a file added), so this quick pass lists them: and a new user arrives.
    for (const u of ['alice', 'bob', 'carol']) await writeFile(join(cd.path, u, 'note'), '');
    await storeLocalCred(cd, 'dave', 'scitokens');
    events.length = 0;
    daveWaited = true;
    await credmon.rescan();
    assert.deepEqual(events.slice(0, 2), ['list dave', 'renew dave'], events.join(', '));
    assert.deepEqual(events.slice(2).sort(), ['list alice', 'list bob', 'list carol']);
    assert.ok(daveWaited, 'the new user’s .use was written before the known users were listed');
    const use = JSON.parse((await readSecureFile(credPath(cd, 'dave', 'scitokens', 'use'))).toString());
    assert.equal(decodeToken(use.access_token).claims.sub, 'dave');
  });

  it('a SIGHUP during a listing serves the new user at once, not after that listing and the next', async () => {
    const { local, recording, events } = await recordingWorld();
    let hupDuring: (() => void) | undefined;
    const readDir = (path: string) => {
      const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
      if (path === cd.path) return entries;
      const user = path.slice(cd.path.length + 1);
      events.push(`list ${user}`);
      // While the listing is at alice, the CredD stores dave's first credential and signals.
      if (user === 'alice' && hupDuring !== undefined) {
        const hup = hupDuring;
        hupDuring = undefined;
        hup();
      }
      return entries;
    };
    credmon = createCredmon({
      config: credmonConfig(cd.path, { local: [local] }),
      log: memoryLog().log,
      providers: [recording],
      readDir,
      firstCredentialsWaitMs: 10_000,
    });
    await credmon.start();
    for (const u of ['alice', 'bob', 'carol']) await writeFile(join(cd.path, u, 'note'), '');
    let second: Promise<void> | undefined;
    hupDuring = () => {
      const home = join(cd.path, 'dave');
      mkdirSync(home, { mode: 0o700 });
      writeFileSync(credPath(cd, 'dave', 'scitokens', 'top'), 'dave', { mode: 0o600 });
      second = credmon?.rescan();
    };
    events.length = 0;
    await credmon.rescan();
    await second;
    assert.deepEqual(
      events.slice(0, 5),
      ['list alice', 'list dave', 'renew dave', 'list bob', 'list carol'],
      events.join(', '),
    );
    const use = JSON.parse((await readSecureFile(credPath(cd, 'dave', 'scitokens', 'use'))).toString());
    assert.equal(decodeToken(use.access_token).claims.sub, 'dave');
    assert.equal(credmon.snapshot().rows.find((r) => r.id === 'dave/scitokens')?.state, 'ok');
  });
});
