import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { STALE_TEMP_AGE_MS } from '../../src/files/index.js';
import { makeSharedDir, OTHER_GID, OTHER_UID, OTHER_USER, runAsOther } from '../files/other-user.js';
import { fillUp, mountTmpfs, type Tmpfs } from '../files/tmpfs.js';
import { CLI, type CliRun, findLeaks, runCli, transcript } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import {
  createWorld,
  createWorldWithAccount,
  refreshAccount,
  tokenSection,
  type World,
} from '../helpers/world.js';

/**
 * No refresh grant is spent on a write that then fails, and nothing another user controls redirects a
 * write: renew through the built CLI against the test issuer, with real faults (a full tmpfs, a
 * read-only mount, a directory the running user cannot write, a symlink planted by another user).
 */

function refreshes(world: World): number {
  return world.issuer.stats().tokenRequests.refresh_token ?? 0;
}

function assertNoReuse(world: World): void {
  const stats = world.issuer.stats();
  assert.equal(stats.reuseDetected, 0, 'the issuer saw a refresh token used twice');
  assert.equal(stats.revokedGrants, 0);
  assert.equal(stats.tokenErrors.invalid_grant ?? 0, 0);
}

/** The built CLI run as another local user (runuser), its output audited for leaks like runCli's. */
function runCliAs(user: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', user, '--', process.execPath, CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      transcript.push(stdout, stderr);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('renew with a full state disk', () => {
  let world: World;
  let fs: Tmpfs | undefined;
  before(async () => {
    world = await createWorld();
    // The state directory (credential records, locks, status) is a small tmpfs.
    fs = await mountTmpfs(world.state, '512k', ['mode=0700']);
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    const run = await world.setup('vo');
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    try {
      const leaks = findLeaks(await collectSecrets(world));
      assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
    } finally {
      await fs?.unmount();
      await world.close();
    }
  });

  it('spends no grant while the credential cannot be saved, and renews once space is back', async () => {
    const first = await runCli(['renew', '--config', world.config]);
    assert.equal(first.code, 0, first.stderr);
    const filler = await fillUp(world.state);
    const before = refreshes(world);
    const full = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(full.code, 1, full.stderr);
    const cred = join(world.state, 'accounts', 'vo.cred');
    assert.match(
      full.stderr,
      new RegExp(
        `^tokenwarden: \\[token t\\] \\(account vo\\): account vo: not refreshed, the new credential could not be saved: cannot reserve space to write ${cred}: no space left on device \\(ENOSPC\\) \\(free space or fix the permissions; no refresh grant was spent\\)$`,
        'm',
      ),
    );
    assert.equal(refreshes(world), before, 'no refresh grant was spent');
    await rm(filler);
    const again = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /1 renewed/);
    assertNoReuse(world);
    assert.deepEqual(
      (await readdir(join(world.state, 'accounts'))).filter((f) => f.endsWith('.tmp')),
      [],
      'no reserved temp file left',
    );
  });
});

describe('renew into a directory it cannot write', () => {
  let world: World;
  let fs: Tmpfs | undefined;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  afterEach(async () => {
    await fs?.unmount();
    fs = undefined;
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('a read-only mount fails the preflight: no refresh reaches the issuer', async () => {
    const ro = join(world.dir, 'ro');
    fs = await mountTmpfs(ro, '64k');
    await fs.remountReadOnly();
    const path = join(ro, 'ce.token');
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}[token ce]\naccount = vo\ntoken_path = ${path}\n\n${tokenSection(world, 'ok', 'vo')}`,
    );
    const before = refreshes(world);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^tokenwarden: \\[token ce\\] \\(account vo\\): ${world.config} line \\d+: Config for \\[token ce\\]: token_path: cannot write ${path}: read-only file system \\(EROFS\\)$`,
        'm',
      ),
    );
    assert.equal(refreshes(world) - before, 1, 'one refresh: the writable token only');
    assertNoReuse(world);
  });

  it('a directory the running user may not write fails the preflight: no refresh reaches the issuer', async () => {
    // The whole world belongs to the second user, except the token directory (root's, 0755).
    const locked = join(world.dir, 'root-dir');
    await mkdir(locked, { mode: 0o755 });
    const path = join(locked, 'ce.token');
    await world.writeConfig(`${refreshAccount(world, 'vo')}[token ce]\naccount = vo\ntoken_path = ${path}\n`);
    await chownTree(world.dir, [locked]);
    const before = refreshes(world);
    const run = await runCliAs(OTHER_USER, ['renew', '--config', world.config]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `Config for \\[token ce\\]: token_path: cannot write ${path}: permission denied \\(EACCES\\)$`,
        'm',
      ),
    );
    assert.equal(refreshes(world), before, 'no refresh grant spent');
    assert.deepEqual(await readdir(locked), []);
    // The same user renews into its own directory: the account itself is fine.
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 'mine', 'vo')}`);
    const ok = await runCliAs(OTHER_USER, ['renew', '--config', world.config]);
    assert.equal(ok.code, 0, ok.stderr);
    assertNoReuse(world);
  });
});

describe('renew with a credential directory it cannot write', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('spends no grant when the rotated credential could not be saved', async () => {
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    // The second user may read its credential and write its tokens, but not replace the credential.
    const accounts = join(world.state, 'accounts');
    await chownTree(world.dir, [accounts]);
    await chmod(accounts, 0o755);
    for (const f of await readdir(accounts)) await chown(join(accounts, f), OTHER_UID, OTHER_GID);
    const before = refreshes(world);
    const run = await runCliAs(OTHER_USER, ['renew', '--config', world.config]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^tokenwarden: \\[token t\\] \\(account vo\\): account vo: not refreshed, the new credential could not be saved: cannot write ${join(accounts, 'vo.cred')}: permission denied \\(EACCES\\)`,
        'm',
      ),
    );
    assert.equal(refreshes(world), before, 'no refresh grant spent');
    await chown(accounts, OTHER_UID, OTHER_GID);
    const ok = await runCliAs(OTHER_USER, ['renew', '--config', world.config]);
    assert.equal(ok.code, 0, ok.stderr);
    assertNoReuse(world);
  });
});

/** chown -R to the second user, skipping `except`. */
async function chownTree(dir: string, except: string[]): Promise<void> {
  if (except.includes(dir)) return;
  await chown(dir, OTHER_UID, OTHER_GID);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, except);
    else if (!except.includes(path)) await chown(path, OTHER_UID, OTHER_GID);
  }
}

describe('two configs with different state directories sharing one credential_file', () => {
  let world: World;
  let configB: string;
  before(async () => {
    world = await createWorld();
    const shared = join(world.dir, 'shared');
    await mkdir(shared, { mode: 0o700 });
    // B reaches the same credential through a symlinked directory: the lock follows the real path.
    await symlink(shared, join(world.dir, 'alias'));
    const account = (credentialFile: string) =>
      refreshAccount(world, 'vo', `credential_file = ${credentialFile}`);
    await world.writeConfig(
      `${account(join(shared, 'vo.cred'))}${tokenSection(world, 'a1', 'vo', { scope: 'storage.read:/' })}${tokenSection(world, 'a2', 'vo', { audience: 'https://a.example' })}`,
    );
    configB = join(world.dir, 'b.ini');
    await writeFile(
      configB,
      `[DEFAULT]\nstate_dir = ${join(world.dir, 'state-b')}\n\n${account(join(world.dir, 'alias', 'vo.cred'))}${tokenSection(world, 'b1', 'vo', { scope: 'compute.read' })}${tokenSection(world, 'b2', 'vo', { audience: 'https://b.example' })}`,
    );
    const run = await world.setup('vo');
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('serializes every refresh: no reuse detection, every forced run succeeds', async () => {
    const before = refreshes(world);
    const runs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        runCli(['renew', '--config', i % 2 === 0 ? world.config : configB, '--force']),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assertNoReuse(world);
    assert.equal(refreshes(world) - before, 32, '16 runs x 2 tokens, each refreshed once');
  });
});

describe('renew and the files of others', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
    // The second user must be able to reach the shared directory made inside the world.
    await chmod(world.dir, 0o755);
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });
  beforeEach(async () => {
    for (const f of await readdir(world.tokens)) await rm(join(world.tokens, f), { recursive: true });
  });

  it('refuses a directory symlink another user planted in a world-writable directory', async () => {
    const shared = join(world.dir, 'shared-tmp');
    await makeSharedDir(world.dir, shared);
    const victim = join(world.dir, 'root-only');
    await mkdir(victim, { mode: 0o700 });
    await writeFile(join(victim, 'ce.token'), 'root data\n', { mode: 0o600 });
    const planted = join(shared, 'tokens-ce');
    await runAsOther(['ln', '-s', victim, planted]);
    const path = join(planted, 'ce.token');
    await world.writeConfig(`${refreshAccount(world, 'vo')}[token ce]\naccount = vo\ntoken_path = ${path}\n`);
    const before = refreshes(world);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `Config for \\[token ce\\]: token_path: refusing to write ${path}: ${planted} is a symbolic link in the world-writable directory ${shared}`,
      ),
    );
    assert.equal(refreshes(world), before, 'no refresh grant spent');
    assert.equal(await readFile(join(victim, 'ce.token'), 'utf8'), 'root data\n');
    assert.deepEqual(await readdir(victim), ['ce.token']);
  });

  it('a planted directory holding a long-lived token is refused, not taken as fresh', async () => {
    const shared = join(world.dir, 'shared-tmp2');
    await makeSharedDir(world.dir, shared);
    const victim = join(world.dir, 'root-only2');
    await mkdir(victim, { mode: 0o700 });
    // Valid for a day: read through the planted link, it would look fresh and skip the preflight.
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const lure = `${b64({ alg: 'none' })}.${b64({ iat: now, exp: now + 86400, sub: 'x' })}.sig\n`;
    await writeFile(join(victim, 'ce.token'), lure, { mode: 0o600 });
    const planted = join(shared, 'tokens-ce');
    await runAsOther(['ln', '-s', victim, planted]);
    const path = join(planted, 'ce.token');
    await world.writeConfig(`${refreshAccount(world, 'vo')}[token ce]\naccount = vo\ntoken_path = ${path}\n`);
    const before = refreshes(world);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`refusing to write ${path}: ${planted} is a symbolic link`));
    assert.doesNotMatch(run.stdout, /1 still fresh/);
    assert.equal(refreshes(world), before, 'no refresh grant spent');
    assert.equal(await readFile(join(victim, 'ce.token'), 'utf8'), lure);
  });

  it('a password_file reached through a planted directory is refused before any request', async () => {
    const shared = join(world.dir, 'shared-tmp3');
    await makeSharedDir(world.dir, shared);
    const victim = join(world.dir, 'pw-elsewhere');
    await mkdir(victim, { mode: 0o700 });
    await writeFile(join(victim, 'vo.pw'), await readFile(join(world.dir, 'vo.pw')), { mode: 0o600 });
    const planted = join(shared, 'pw');
    await runAsOther(['ln', '-s', victim, planted]);
    const pw = join(planted, 'vo.pw');
    await world.writeConfig(
      `[account vo]\npassword_file = ${pw}\nissuer = ${world.issuer.url}\n\n${tokenSection(world, 'viapw', 'vo')}`,
    );
    const before = refreshes(world);
    const run = await runCli(['renew', '--config', world.config, '--force']);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `Config for \\[account vo\\]: password_file: refusing to read ${pw}: ${planted} is a symbolic link`,
      ),
    );
    assert.equal(refreshes(world), before, 'no refresh grant spent');
  });

  it('an existing token file keeps its owner, group and mode; a new one gets 0600 and ours', async () => {
    const kept = join(world.tokens, 'kept.token');
    await writeFile(kept, 'not a token yet\n');
    await chown(kept, OTHER_UID, OTHER_GID);
    await chmod(kept, 0o640);
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'kept', 'vo')}${tokenSection(world, 'fresh', 'vo')}`,
    );
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    const st = await stat(kept);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [OTHER_UID, OTHER_GID, 0o640]);
    assert.ok((await readFile(kept, 'utf8')).startsWith('eyJ'));
    const fresh = await stat(join(world.tokens, 'fresh.token'));
    assert.deepEqual([fresh.uid, fresh.mode & 0o7777], [process.geteuid?.(), 0o600]);
    // Forced again: still the consumer's file.
    assert.equal((await runCli(['renew', '--config', world.config, '--force'])).code, 0);
    const again = await stat(kept);
    assert.deepEqual([again.uid, again.gid, again.mode & 0o7777], [OTHER_UID, OTHER_GID, 0o640]);
  });

  it('removes the stale temp files killed runs left beside token files and credentials', async () => {
    const old = new Date(Date.now() - STALE_TEMP_AGE_MS - 60_000);
    const accounts = join(world.state, 'accounts');
    const stale = [
      join(world.tokens, '.t.token.0123456789ab.tmp'),
      join(accounts, '.vo.cred.0123456789ab.tmp'),
    ];
    const young = join(world.tokens, '.t.token.abcdefabcdef.tmp');
    for (const f of [...stale, young]) await writeFile(f, 'half written', { mode: 0o600 });
    for (const f of stale) await utimes(f, old, old);
    await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await readdir(world.tokens)).sort(), ['.t.token.abcdefabcdef.tmp', 't.token']);
    assert.deepEqual(
      (await readdir(accounts)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
