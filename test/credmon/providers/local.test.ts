import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { compactVerify } from 'jose';
import { MAX_GROUP_MAPFILE_BYTES } from '../../../src/credmon/providers/group-mapfile.js';
import { createLocalProvider, KEY_CHECK_INTERVAL_MS } from '../../../src/credmon/providers/local.js';
import { createLog } from '../../../src/log/index.js';
import { decodeToken } from '../../../src/tokens/index.js';
import { makeCredDir, readSecureFile, storeLocalCred } from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  localConfig,
  localTop,
  NOW,
  providerContext,
  ref,
  run,
  scitokensCache,
  writeMapfile,
} from './fixtures.js';

describe('credmon local issuer provider', () => {
  let dir: string;
  let credDir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-local-'));
    credDir = join(dir, 'creds');
    await mkdir(credDir, { mode: 0o700 });
  });
  afterEach(async () => cleanup());

  async function mint(
    overrides: Parameters<typeof localConfig>[1] = {},
    user = 'alice',
    name = 'scitokens',
    nowSeconds = NOW,
  ): Promise<{ text: string; token: string; pub: string }> {
    const config = localConfig(dir, overrides);
    const provider = createLocalProvider(config, { newJti: () => 'jti-1' });
    const ctx = providerContext(credDir, { clock: () => nowSeconds * 1000 });
    await provider.prepare?.(ctx);
    await localTop(credDir, user, name);
    const outcome = await provider.renew(ref(user, name), ctx);
    assert.deepEqual(outcome, { expiresAt: nowSeconds + config.lifetimeSeconds, issuedAt: nowSeconds });
    const text = await readFile(join(credDir, user, `${name}.use`), 'utf8');
    const token = config.useJson ? (JSON.parse(text) as { access_token: string }).access_token : text.trim();
    return { text, token, pub: await readFile(config.publicKeyPath, 'utf8') };
  }

  it('scitoken:2.0: exactly the claims of HTCondor local issuer, signed ES256 with the kid, in a 0400 JSON .use', async () => {
    const { text, token, pub } = await mint();
    const use = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(use), ['access_token', 'expires_in']);
    assert.equal(use.expires_in, 1200);
    const { header, claims } = decodeToken(token);
    assert.deepEqual(header, { alg: 'ES256', kid: 'local', typ: 'JWT' });
    assert.deepEqual(claims, {
      iss: 'https://ap.example.org',
      sub: 'alice',
      scope: 'read:/user/alice write:/user/alice',
      aud: ['https://storage.example.org'],
      ver: 'scitoken:2.0',
      iat: NOW,
      nbf: NOW,
      exp: NOW + 1200,
      jti: 'jti-1',
    });
    await compactVerify(token, createPublicKey(pub));
    const st = await stat(join(credDir, 'alice', 'scitokens.use'));
    assert.equal(st.mode & 0o777, 0o400);
    assert.equal(st.uid, process.getuid?.());
  });

  it('in a credential directory laid out by the CredD, the .use passes the starter read_secure_file check', async () => {
    const cd = await makeCredDir(dir);
    await storeLocalCred(cd, 'alice', 'scitokens');
    await storeLocalCred(cd, 'alice', 'scitokens_batch');
    const provider = createLocalProvider(localConfig(dir));
    const ctx = providerContext(cd.path, { clock: Date.now });
    await provider.prepare?.(ctx);
    for (const name of ['scitokens', 'scitokens_batch']) {
      await provider.renew(ref('alice', name), ctx);
      const data = await readSecureFile(join(cd.path, 'alice', `${name}.use`));
      const use = JSON.parse(data.toString()) as { access_token: string };
      assert.equal(decodeToken(use.access_token).claims.sub, 'alice');
    }
    // No temp file left in the user directory or at the top.
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual((await readdir(join(cd.path, 'alice'))).sort(), [
      'scitokens.top',
      'scitokens.use',
      'scitokens_batch.top',
      'scitokens_batch.use',
    ]);
  });

  it('wlcg:1.0 and wlcg give wlcg.ver "1.0" and no ver; several audiences stay an array', async () => {
    for (const tokenVersion of ['wlcg:1.0', 'wlcg']) {
      const { token } = await mint({
        tokenVersion,
        audience: ['https://a.example', 'https://b.example'],
        authzTemplate: 'storage.read:/home/{username} storage.create:/home/{username}',
      });
      const { claims } = decodeToken(token);
      assert.equal(claims['wlcg.ver'], '1.0');
      assert.equal(claims.ver, undefined);
      assert.deepEqual(claims.aud, ['https://a.example', 'https://b.example']);
      assert.equal(claims.scope, 'storage.read:/home/alice storage.create:/home/alice');
    }
  });

  it('an empty TOKEN_VERSION gives neither ver nor wlcg.ver, and no audience means no aud claim', async () => {
    const { token } = await mint({ tokenVersion: '', audience: [] });
    const { claims } = decodeToken(token);
    assert.deepEqual(Object.keys(claims).sort(), ['exp', 'iat', 'iss', 'jti', 'nbf', 'scope', 'sub']);
  });

  it('TOKEN_USE_JSON = false writes the bare token and a newline', async () => {
    const { text } = await mint({ useJson: false });
    assert.match(text, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('a handle: the token goes to <name>.use of that credential, the subject is the directory, not the .top', async () => {
    const config = localConfig(dir);
    const provider = createLocalProvider(config);
    const ctx = providerContext(credDir);
    await localTop(credDir, 'bob', 'scitokens_analysis');
    // What the .top says is not trusted.
    await writeFile(join(credDir, 'bob', 'scitokens_analysis.top'), 'root');
    await provider.renew(ref('bob', 'scitokens_analysis'), ctx);
    const use = JSON.parse(await readFile(join(credDir, 'bob', 'scitokens_analysis.use'), 'utf8'));
    assert.equal(decodeToken(use.access_token).claims.sub, 'bob');
  });

  it('group scopes from AUTHZ_GROUP_TEMPLATE per group of the map file, and an edit of the map file is seen', async () => {
    const mapfile = join(dir, 'groups.map');
    await writeMapfile(mapfile, [
      '# comment',
      '* alice',
      'bob alice physics',
      '* alice physics,,cms',
      '* alice other',
    ]);
    const overrides = {
      authzGroupTemplate: 'read:/groups/{groupname}',
      authzGroupMapfile: mapfile,
    };
    let { token } = await mint(overrides);
    assert.equal(
      decodeToken(token).claims.scope,
      'read:/user/alice write:/user/alice read:/groups/physics read:/groups/cms',
    );
    // The next renewal reads the edited file (a new inode, as an editor's rename gives).
    await writeMapfile(`${mapfile}.new`, ['* alice atlas']);
    await writeFile(mapfile, await readFile(`${mapfile}.new`));
    await utimes(mapfile, new Date(), new Date(Date.now() + 5000));
    ({ token } = await mint(overrides));
    assert.equal(decodeToken(token).claims.scope, 'read:/user/alice write:/user/alice read:/groups/atlas');
    // A user on no line gets only the user template.
    ({ token } = await mint(overrides, 'carol'));
    assert.equal(decodeToken(token).claims.scope, 'read:/user/carol write:/user/carol');
  });

  it('the map file may be a symlink (configuration management); an oversized one is refused naming the knob', async () => {
    const mapfile = join(dir, 'groups.map');
    await writeMapfile(join(dir, 'real.map'), ['* alice physics']);
    await symlink(join(dir, 'real.map'), mapfile);
    const overrides = { authzGroupTemplate: 'read:/groups/{groupname}', authzGroupMapfile: mapfile };
    const { token } = await mint(overrides);
    assert.equal(decodeToken(token).claims.scope, 'read:/user/alice write:/user/alice read:/groups/physics');
    await writeFile(join(dir, 'big.map'), Buffer.alloc(MAX_GROUP_MAPFILE_BYTES + 1, 0x20));
    const provider = createLocalProvider(
      localConfig(dir, { ...overrides, authzGroupMapfile: join(dir, 'big.map') }),
    );
    await assert.rejects(provider.prepare?.(providerContext(credDir)) ?? Promise.resolve(), {
      code: 'CONFIG_INVALID',
      message: /AUTHZ_GROUP_MAPFILE\): cannot read the group map file/,
    });
  });

  it('RS256: a generated 2048-bit RSA key signs RS256 tokens with the kid', async () => {
    const { token, pub } = await mint({ algorithm: 'RS256', keyId: 'rsa-1' });
    assert.deepEqual(decodeToken(token).header, { alg: 'RS256', kid: 'rsa-1', typ: 'JWT' });
    await compactVerify(token, createPublicKey(pub));
    assert.match(
      await readFile(join(dir, 'scitokens-private.pem'), 'utf8'),
      /^-----BEGIN RSA PRIVATE KEY-----/,
    );
  });

  it('refuses a user name that could leave the credential directory, writing nothing', async () => {
    const provider = createLocalProvider(localConfig(dir));
    const ctx = providerContext(credDir);
    for (const user of ['..', '.', 'a/b', '.hidden'])
      await assert.rejects(provider.renew({ user, cred: ref('x', 'scitokens').cred }, ctx), {
        code: 'FILE_UNSAFE',
      });
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(credDir), []);
  });

  it('a .top removed before the renewal gets no token (TOKEN_NOT_FOUND), and nothing is created', async () => {
    const provider = createLocalProvider(localConfig(dir));
    const ctx = providerContext(credDir);
    await provider.prepare?.(ctx);
    await mkdir(join(credDir, 'gone'));
    await assert.rejects(provider.renew(ref('gone', 'scitokens'), ctx), {
      code: 'TOKEN_NOT_FOUND',
      message: /gone\/scitokens\.top is gone/,
    });
    await assert.rejects(provider.renew(ref('nobody', 'scitokens'), ctx), { code: 'TOKEN_NOT_FOUND' });
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(join(credDir, 'gone')), []);
    await assert.rejects(stat(join(credDir, 'nobody')), { code: 'ENOENT' });
  });

  it('{{ and }} are literal braces, as in the Python str.format the credmon uses', async () => {
    const { token } = await mint({ authzTemplate: 'read:/u/{username}/{{x}}' });
    assert.equal(decodeToken(token).claims.scope, 'read:/u/alice/{x}');
  });

  it('AUTHZ_GROUP_REQUIREMENT: a user outside the group gets no token (LOGIN_DENIED), an existing .use is left alone', async () => {
    const mapfile = join(dir, 'groups.map');
    await writeMapfile(mapfile, ['* alice physics', '* bob cms']);
    const config = localConfig(dir, { authzGroupMapfile: mapfile, authzGroupRequirement: 'physics' });
    const provider = createLocalProvider(config);
    const ctx = providerContext(credDir);
    await provider.prepare?.(ctx);
    await localTop(credDir, 'alice', 'scitokens');
    await provider.renew(ref('alice', 'scitokens'), ctx);
    await localTop(credDir, 'bob', 'scitokens');
    await assert.rejects(provider.renew(ref('bob', 'scitokens'), ctx), {
      code: 'LOGIN_DENIED',
      message: /user bob is not in group physics of .*groups\.map: no scitokens token is issued/,
    });
    await assert.rejects(stat(join(credDir, 'bob', 'scitokens.use')), { code: 'ENOENT' });
    // alice leaves the group: her token in place is not replaced by an empty one, nor deleted.
    const before = await readFile(join(credDir, 'alice', 'scitokens.use'), 'utf8');
    await writeMapfile(mapfile, ['* alice cms']);
    await utimes(mapfile, new Date(), new Date(Date.now() + 5000));
    await assert.rejects(provider.renew(ref('alice', 'scitokens'), ctx), { code: 'LOGIN_DENIED' });
    assert.equal(await readFile(join(credDir, 'alice', 'scitokens.use'), 'utf8'), before);
  });

  it('generates the key pair at first start: private 0600 SEC1, public 0644 SPKI; prepare again keeps it', async () => {
    const config = localConfig(join(dir));
    const provider = createLocalProvider(config);
    const ctx = providerContext(credDir);
    await provider.prepare?.(ctx);
    const priv = await stat(config.privateKeyPath);
    const pub = await stat(config.publicKeyPath);
    assert.equal(priv.mode & 0o777, 0o600);
    assert.equal(pub.mode & 0o777, 0o644);
    const pem = await readFile(config.privateKeyPath, 'utf8');
    assert.match(pem, /^-----BEGIN EC PRIVATE KEY-----/);
    assert.match(await readFile(config.publicKeyPath, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    await provider.prepare?.(ctx);
    assert.equal(await readFile(config.privateKeyPath, 'utf8'), pem);
  });

  it('two credmons starting at once from two processes end with one key pair, and both sign with it', async () => {
    const config = localConfig(dir);
    const script = `
      const { createLocalProvider } = await import(${JSON.stringify(new URL('../../../src/credmon/providers/local.js', import.meta.url).href)});
      const { mkdirSync, writeFileSync, readFileSync } = await import('node:fs');
      const config = JSON.parse(process.argv[1]);
      const user = process.argv[2];
      const p = createLocalProvider(config);
      const ctx = { credDir: ${JSON.stringify(credDir)}, log: { emit() {}, addSecret() {}, close() {} }, clock: Date.now, fetch, signal: AbortSignal.timeout(10000) };
      await p.prepare(ctx);
      mkdirSync(ctx.credDir + '/' + user, { recursive: true });
      writeFileSync(ctx.credDir + '/' + user + '/scitokens.top', user);
      await p.renew({ user, cred: { name: 'scitokens', provider: 'scitokens', handle: undefined } }, ctx);
      process.stdout.write(JSON.parse(readFileSync(ctx.credDir + '/' + user + '/scitokens.use', 'utf8')).access_token);
    `;
    const runs = await Promise.all(
      ['u1', 'u2', 'u3', 'u4'].map((user) =>
        run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(config), user]),
      ),
    );
    const pub = createPublicKey(await readFile(config.publicKeyPath, 'utf8'));
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      await compactVerify(r.stdout, pub);
    }
    // No temp file left beside the keys.
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('refuses at start (CONFIG_INVALID naming the knob) what the Python credmon turns into no token', async () => {
    const ctx = providerContext(credDir);
    const prepare = async (o: Parameters<typeof localConfig>[1]) =>
      createLocalProvider(localConfig(dir, o)).prepare?.(ctx);
    await assert.rejects(prepare({ audience: [] }), {
      code: 'CONFIG_INVALID',
      message:
        /LOCAL_CREDMON_SCITOKENS_TOKEN_AUDIENCE \(or LOCAL_CREDMON_TOKEN_AUDIENCE\) is not set, and a scitoken:2.0 token/,
    });
    await assert.rejects(prepare({ authzGroupRequirement: 'physics' }), {
      code: 'CONFIG_INVALID',
      message: /AUTHZ_GROUP_REQUIREMENT\)? is set but .*AUTHZ_GROUP_MAPFILE/,
    });
    await assert.rejects(prepare({ authzTemplate: 'read:/user/{user}' }), {
      code: 'CONFIG_INVALID',
      message: /AUTHZ_TEMPLATE\): the placeholder \{user\} in "read:\/user\/\{user\}" cannot be expanded/,
    });
    await assert.rejects(
      prepare({ authzGroupMapfile: join(dir, 'missing.map'), authzGroupTemplate: 'read:/g/{groupname}' }),
      {
        code: 'CONFIG_INVALID',
        message: /AUTHZ_GROUP_MAPFILE\): the group map file .*missing\.map does not exist/,
      },
    );
    // Nothing was created by a refused start.
    await assert.rejects(stat(join(dir, 'scitokens-private.pem')), { code: 'ENOENT' });
  });

  it('refuses an unreadable key, a group-readable key, garbage and a key of the wrong algorithm', async () => {
    const ctx = providerContext(credDir);
    const keyPath = join(dir, 'key.pem');
    const prepare = async (o: Parameters<typeof localConfig>[1] = {}) =>
      createLocalProvider(
        localConfig(dir, { privateKeyPath: keyPath, publicKeyPath: join(dir, 'key.pub'), ...o }),
      ).prepare?.(ctx);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await writeFile(keyPath, ec.export({ format: 'pem', type: 'sec1' }), { mode: 0o600 });
    await assert.rejects(prepare({ algorithm: 'RS256' }), { code: 'CONFIG_INVALID', message: /key\.pem/ });

    await chmod(keyPath, 0o644);
    await assert.rejects(prepare(), {
      code: 'CONFIG_INVALID',
      message: /key\.pem is readable or writable by group or others/,
    });

    await writeFile(keyPath, 'not a key\n', { mode: 0o600 });
    await chmod(keyPath, 0o600);
    const err = await prepare().then(
      () => assert.fail('garbage accepted'),
      (e: Error & { code: string }) => e,
    );
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /key\.pem/);

    if (process.getuid?.() !== 0) {
      await chmod(keyPath, 0o000);
      await assert.rejects(prepare(), { code: 'CONFIG_INVALID', message: /cannot read private key/ });
    }
  });

  it('prepare is idempotent and a failed reload keeps signing with the key in use', async () => {
    const config = localConfig(dir);
    const provider = createLocalProvider(config);
    const ctx = providerContext(credDir);
    await provider.prepare?.(ctx);
    await chmod(config.privateKeyPath, 0o644);
    await assert.rejects(provider.prepare?.(ctx) as Promise<void>, { code: 'CONFIG_INVALID' });
    await localTop(credDir, 'alice', 'scitokens');
    await provider.renew(ref('alice', 'scitokens'), ctx);
    const use = JSON.parse(await readFile(join(credDir, 'alice', 'scitokens.use'), 'utf8'));
    await compactVerify(use.access_token, createPublicKey(await readFile(config.publicKeyPath, 'utf8')));
  });

  it('a key replaced on disk is used from the next check on, without a restart; a broken replacement keeps the old key', async () => {
    const config = localConfig(dir);
    const provider = createLocalProvider(config);
    const records: string[] = [];
    const log = createLog([{ write: (r) => records.push(r.text) }]);
    let nowMs = NOW * 1000;
    const ctx = providerContext(credDir, { log, clock: () => nowMs });
    await provider.prepare?.(ctx);
    await localTop(credDir, 'alice', 'scitokens');
    const tokenNow = async () => {
      await provider.renew(ref('alice', 'scitokens'), ctx);
      return JSON.parse(await readFile(join(credDir, 'alice', 'scitokens.use'), 'utf8'))
        .access_token as string;
    };
    const first = createPublicKey(await readFile(config.publicKeyPath, 'utf8'));
    await compactVerify(await tokenNow(), first);

    // The administrator installs a new key (written beside, renamed over).
    const next = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await writeFile(`${config.privateKeyPath}.new`, next.export({ format: 'pem', type: 'sec1' }), {
      mode: 0o600,
    });
    await rename(`${config.privateKeyPath}.new`, config.privateKeyPath);
    nowMs += KEY_CHECK_INTERVAL_MS;
    await compactVerify(await tokenNow(), createPublicKey(next));
    assert.match(records.join('\n'), /the private key .* changed; new tokens are signed with it/);

    // A broken replacement: reported once, the key in use is kept.
    await writeFile(`${config.privateKeyPath}.new`, 'garbage\n', { mode: 0o600 });
    await rename(`${config.privateKeyPath}.new`, config.privateKeyPath);
    nowMs += KEY_CHECK_INTERVAL_MS;
    await compactVerify(await tokenNow(), createPublicKey(next));
    nowMs += KEY_CHECK_INTERVAL_MS;
    await compactVerify(await tokenNow(), createPublicKey(next));
    const broken = records.filter((r) => /changed but cannot be loaded/.test(r));
    assert.equal(broken.length, 1, records.join('\n'));
  });

  it('tokens verify with scitokens-cpp and grant exactly their scope (scitoken:2.0 and WLCG profiles)', async () => {
    const sci = await scitokensCache(dir);
    const issuer = 'https://ap.example.org';
    const aud = 'https://storage.example.org';
    // scitokens-cpp checks the times against its own clock.
    const now = Math.floor(Date.now() / 1000);
    const { token, pub } = await mint({}, 'alice', 'scitokens', now);
    const pubPath = join(dir, 'scitokens.pem');
    assert.ok(pub.length > 0);
    const seeded = await sci.seed(pubPath, issuer, 'local', token);
    assert.equal(seeded.code, 0, seeded.stderr);
    const verified = await sci.verify(token);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((await sci.testAccess(token, issuer, aud, 'read', '/user/alice/data')).code, 0);
    assert.equal((await sci.testAccess(token, issuer, aud, 'write', '/user/alice/out')).code, 0);
    assert.notEqual((await sci.testAccess(token, issuer, aud, 'read', '/user/bob')).code, 0);
    assert.notEqual(
      (await sci.testAccess(token, issuer, 'https://other.example', 'read', '/user/alice')).code,
      0,
    );

    // The WLCG profile: scitokens-cpp reads storage.read / storage.create there.
    const wlcg = await mint(
      {
        tokenVersion: 'wlcg:1.0',
        authzTemplate: 'storage.read:/user/{username} storage.create:/user/{username}',
      },
      'alice',
      'scitokens',
      now,
    );
    const wlcgVerified = await sci.verify(wlcg.token, 'wlcg');
    assert.equal(wlcgVerified.code, 0, wlcgVerified.stderr);
    assert.equal((await sci.testAccess(wlcg.token, issuer, aud, 'read', '/user/alice/x')).code, 0);
    assert.notEqual((await sci.testAccess(wlcg.token, issuer, aud, 'read', '/other')).code, 0);

    // A token signed by another key is refused.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const otherDir = join(dir, 'other');
    await mkdir(otherDir);
    await writeFile(join(otherDir, 'scitokens-private.pem'), other.export({ format: 'pem', type: 'sec1' }), {
      mode: 0o600,
    });
    const forged = createLocalProvider(localConfig(otherDir));
    await forged.prepare?.(providerContext(credDir));
    await forged.renew(ref('alice', 'scitokens'), providerContext(credDir, { clock: Date.now }));
    const forgedToken = JSON.parse(
      await readFile(join(credDir, 'alice', 'scitokens.use'), 'utf8'),
    ).access_token;
    assert.notEqual((await sci.verify(forgedToken)).code, 0);
  });
});
