import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, lstat, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  type CredDir,
  condorConfigFixture,
  credDKeyAd,
  credPath,
  keyFileText,
  makeCredDir,
  markUser,
  readSecureFile,
  signalCredmon,
  storeCred,
  storeLocalCred,
  storeWebLogin,
  waitForCredmonComplete,
  writeKeyFile,
} from '../helpers/credd.js';
import { tempDir } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;

describe('the CredD on disk (test helper)', () => {
  let parent: string;
  let cleanup: () => Promise<void>;
  let dir: CredDir;
  beforeEach(async () => {
    ({ dir: parent, cleanup } = await tempDir('tw-credd-'));
    dir = await makeCredDir(parent);
  });
  afterEach(async () => {
    await cleanup();
  });

  it('makes the directory root:condor 2770 as HTCondor packages it', async () => {
    const st = await stat(dir.path);
    assert.equal(st.mode & 0o7777, 0o2770);
    assert.equal(st.gid, dir.gid);
    if (isRoot) {
      assert.equal(st.uid, 0);
      const groups = await readFile('/etc/group', 'utf8');
      assert.match(groups, new RegExp(`^condor:[^:]*:${dir.gid}:`, 'm'));
    }
    await assert.rejects(makeCredDir(parent), { code: 'EEXIST' }, 'never reuses a directory already there');
  });

  it('takes another mode, to test the refusal of an "other" bit', async () => {
    const { dir: p2, cleanup: c2 } = await tempDir('tw-credd-');
    try {
      const d = await makeCredDir(p2, { mode: 0o2775 });
      assert.equal((await stat(d.path)).mode & 0o7777, 0o2775);
    } finally {
      await c2();
    }
  });

  it('stores an OAuth2 .top as the CredD: user dir 0700, mode 0600, JSON with comma-separated scopes', async () => {
    const path = await storeCred(dir, 'alice', 'mytoken', {
      refresh_token: 'rt-1',
      scopes: ['openid', 'storage.read:/'],
      audience: 'https://a.example',
    });
    assert.equal(path, credPath(dir, 'alice', 'mytoken', 'top'));
    const userDir = await stat(join(dir.path, 'alice'));
    assert.equal(userDir.mode & 0o7777, 0o2700, 'mkdir 0700; the setgid bit and group come from the parent');
    assert.equal(userDir.gid, dir.gid);
    assert.equal((await stat(path)).mode & 0o7777, 0o600);
    const text = await readFile(path, 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(JSON.parse(text), {
      audience: 'https://a.example',
      refresh_token: 'rt-1',
      scopes: 'openid,storage.read:/',
    });
    assert.deepEqual(await readdir(join(dir.path, 'alice')), ['mytoken.top'], 'no .tmp left behind');
  });

  it("stores the client's bytes when there is nothing to add; omits empty scopes; overwrites by rename", async () => {
    const vault = await storeCred(dir, 'bob', 'vault_x', {
      vault_token: 'v',
      vault_url: 'https://v.example',
    });
    assert.equal(await readFile(vault, 'utf8'), '{"vault_token":"v","vault_url":"https://v.example"}');
    const path = await storeCred(dir, 'bob', 'vault_x', { refresh_token: 'r2', scopes: '', extra: 1 });
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { refresh_token: 'r2', extra: 1 });
  });

  it("writes a login's .use/.top/.meta as HTCondor's Python web app does", async () => {
    await storeWebLogin(dir, 'gina', 'box_h', {
      token: { access_token: 'at', refresh_token: 'rt', expires_in: 3600, token_type: 'Bearer' },
      scopes: 'openid, offline_access',
      audience: 'https://a.example',
      clientId: 'cid',
      tokenUrl: 'https://issuer.example/token',
    });
    const read = (kind: 'top' | 'use' | 'meta') => readFile(credPath(dir, 'gina', 'box_h', kind), 'utf8');
    assert.equal(await read('use'), '{"access_token": "at", "expires_in": 3600, "token_type": "Bearer"}');
    assert.equal(
      await read('top'),
      '{"refresh_token": "rt", "scopes": "openid,offline_access", "audience": "https://a.example"}',
    );
    assert.deepEqual(JSON.parse(await read('meta')), {
      client_id: 'cid',
      token_url: 'https://issuer.example/token',
      use_refresh_token: true,
    });
    for (const kind of ['top', 'use', 'meta'] as const)
      assert.equal((await stat(credPath(dir, 'gina', 'box_h', kind))).mode & 0o777, 0o400);
    assert.deepEqual((await readdir(join(dir.path, 'gina'))).sort(), [
      'box_h.meta',
      'box_h.top',
      'box_h.use',
    ]);
  });

  it("stores a local issuer's .top as the user name's bytes", async () => {
    const path = await storeLocalCred(dir, 'carol', 'scitokens');
    assert.equal(await readFile(path, 'utf8'), 'carol');
  });

  it('refuses names the CredD refuses, unless asked to plant them', async () => {
    await assert.rejects(storeCred(dir, 'a/b', 'x', 'a'), /refuses user name/);
    await assert.rejects(storeCred(dir, 'dave', 'x y', 'a'), /refuses service name/);
    const p = await storeCred(dir, 'dave', 'x y', 'a', { unchecked: true });
    assert.equal(await readFile(p, 'utf8'), 'a');
  });

  it('writes key files of old-syntax ClassAds, ads separated by a blank line, mode 0640', async () => {
    const ads = [
      credDKeyAd({ Provider: 'mytoken', LocalUser: 'alice', ClientId: 'c1', ClientSecret: 's"1' }),
      credDKeyAd({ Provider: 'other', LocalUser: 'alice', Handle: 'h', Scopes: 'a,b' }),
    ];
    const name = await writeKeyFile(dir, ads);
    assert.match(name, /^[0-9a-f]{64}$/);
    const path = join(dir.path, name);
    assert.equal((await stat(path)).mode & 0o777, 0o640);
    const text = await readFile(path, 'utf8');
    assert.equal(text, keyFileText(ads));
    const [first, second] = text.split('\n\n');
    assert.match(first as string, /^Provider = "mytoken"\nLocalUser = "alice"\nHandle = ""\n/);
    assert.match(first as string, /ClientSecret = "s\\"1"\n/);
    assert.match(second as string, /^Provider = "other"\n/);
    assert.match(second as string, /Scopes = "a,b"\n/);
    assert.equal(
      text.split('\n').filter((l) => l === '').length,
      2,
      'one blank separator plus the final newline',
    );
  });

  it('marks a user only when the user has a directory, and a store clears the mark', async () => {
    assert.equal(await markUser(dir, 'nobody-here'), false);
    await storeLocalCred(dir, 'erin', 'scitokens');
    assert.equal(await markUser(dir, 'erin'), true);
    assert.equal((await stat(join(dir.path, 'erin.mark'))).mode & 0o777, 0o600);
    await storeLocalCred(dir, 'erin', 'scitokens');
    await assert.rejects(stat(join(dir.path, 'erin.mark')), { code: 'ENOENT' });
  });

  it('signals the pid in `pid` and waits for CREDMON_COMPLETE', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('node:fs');process.on('SIGHUP',()=>{fs.writeFileSync(process.argv[1]+'/CREDMON_COMPLETE','');process.exit(0)});fs.writeFileSync(process.argv[1]+'/pid',String(process.pid));setInterval(()=>{},1000)`,
        dir.path,
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitForFilePid(dir);
      assert.equal(await readFile(join(dir.path, 'pid'), 'utf8'), String(child.pid));
      const since = Date.now() - 1000;
      await signalCredmon(dir);
      await waitForCredmonComplete(dir, since, 10_000);
    } finally {
      child.kill('SIGKILL');
    }
    await assert.rejects(waitForCredmonComplete(dir, Date.now() + 60_000, 20), /not touched since/);
  });

  it('checks files as read_secure_file does', async () => {
    const path = join(dir.path, 'f');
    await writeFile(path, 'x', { mode: 0o400 });
    assert.equal((await readSecureFile(path)).toString(), 'x');
    await chmod(path, 0o440);
    await assert.rejects(readSecureFile(path), /must not be readable by others, had perms 440/);
    assert.equal((await readSecureFile(path, { trustCredentialDirectory: true })).toString(), 'x');
    await assert.rejects(readSecureFile(path, { owner: 12345 }), /must be owned by uid 12345/);
    await symlink(path, join(dir.path, 'l'));
    assert.ok((await lstat(join(dir.path, 'l'))).isSymbolicLink());
    await assert.rejects(readSecureFile(join(dir.path, 'l')), /symbolic link/);
    await chmod(path, 0o400);
    assert.equal((await readSecureFile(join(dir.path, 'l'), { followSymlinks: true })).toString(), 'x');
    await assert.rejects(readSecureFile(dir.path, { trustCredentialDirectory: true }), /not a regular file/);
  });

  it('writes a condor_config fixture', async () => {
    const path = await condorConfigFixture(
      parent,
      { SEC_CREDENTIAL_DIRECTORY_OAUTH: dir.path },
      'use feature : OAUTH',
    );
    assert.equal(
      await readFile(path, 'utf8'),
      `# written by a test\nSEC_CREDENTIAL_DIRECTORY_OAUTH = ${dir.path}\nuse feature : OAUTH\n`,
    );
  });
});

async function waitForFilePid(dir: CredDir): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const text = await readFile(join(dir.path, 'pid'), 'utf8').catch(() => '');
    if (text) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the fake credmon never wrote pid');
}
