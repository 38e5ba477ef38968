import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { acquireLock, checkPathSafe, checkWriteTarget, writeFileAtomic } from '../../src/files/index.js';
import { tempDir } from '../helpers/tmp.js';
import { makeSharedDir, OTHER_UID, runAsOther } from './other-user.js';

/**
 * Nothing another user controls may redirect a write or a secret read: inside a sticky or world-writable
 * directory, a symlink or a directory owned by someone else (not us, not root) is refused. The kernel's
 * fs.protected_symlinks is off on the machines these tests run on, so the planted link really works.
 */
describe('checkPathSafe and every writer', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let shared: string;
  let victim: string;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-pathsafe-'));
    shared = join(dir, 'shared');
    await makeSharedDir(dir, shared);
    // A directory only root may enter, holding a root-owned file.
    victim = join(dir, 'root-only');
    await mkdir(victim, { mode: 0o700 });
    await writeFile(join(victim, 'ce.token'), 'root data\n', { mode: 0o600 });
  });
  afterEach(async () => cleanup());

  it('refuses a directory symlink another user planted in a sticky world-writable directory', async () => {
    const planted = join(shared, 'tokens-ce');
    await runAsOther(['ln', '-s', victim, planted]);
    const path = join(planted, 'ce.token');
    const message = `refusing to write ${path}: ${planted} is a symbolic link in the world-writable directory ${shared}`;
    await assert.rejects(writeFileAtomic(path, 'token\n'), { code: 'FILE_UNSAFE', message });
    await assert.rejects(checkWriteTarget(path), { code: 'FILE_UNSAFE', message });
    await assert.rejects(checkPathSafe(path, 'read'), {
      code: 'FILE_UNSAFE',
      message: `refusing to read ${path}: ${planted} is a symbolic link in the world-writable directory ${shared}`,
    });
    await assert.rejects(acquireLock(join(planted, '.ce.lock'), { timeoutMs: 0 }), { code: 'FILE_UNSAFE' });
    assert.equal(await readFile(join(victim, 'ce.token'), 'utf8'), 'root data\n');
    assert.deepEqual((await readdir(victim)).sort(), ['ce.token']);
  });

  it('refuses a directory owned by another user in a shared directory', async () => {
    const theirs = join(shared, 'tokens');
    await runAsOther(['mkdir', '-m', '0777', theirs]);
    const path = join(theirs, 'ce.token');
    await assert.rejects(writeFileAtomic(path, 'token\n'), {
      code: 'FILE_UNSAFE',
      message: `refusing to write ${path}: ${theirs} is a directory owned by uid ${OTHER_UID} in the world-writable directory ${shared}`,
    });
    assert.deepEqual(await readdir(theirs), []);
  });

  it('refuses the planted link when an admin link elsewhere leads into the shared directory', async () => {
    const planted = join(shared, 'tokens-ce');
    await runAsOther(['ln', '-s', victim, planted]);
    // Our own link, in our own directory: followed, and its target walked by the same rule.
    const ours = join(dir, 'tokens');
    await symlink(planted, ours);
    await assert.rejects(writeFileAtomic(join(ours, 'ce.token'), 'token\n'), {
      code: 'FILE_UNSAFE',
      message: `refusing to write ${join(ours, 'ce.token')}: ${planted} is a symbolic link in the world-writable directory ${shared}`,
    });
    assert.equal(await readFile(join(victim, 'ce.token'), 'utf8'), 'root data\n');
  });

  it('follows symlinks outside shared directories, and our own or root’s directories inside one', async () => {
    const real = join(dir, 'real');
    await mkdir(real);
    await symlink(real, join(dir, 'alias'));
    await writeFileAtomic(join(dir, 'alias', 't.token'), 'via alias\n');
    assert.equal(await readFile(join(real, 't.token'), 'utf8'), 'via alias\n');

    const mine = join(shared, 'mine');
    await mkdir(mine, { mode: 0o700 });
    await writeFileAtomic(join(mine, 't.token'), 'in my dir\n');
    assert.equal(await readFile(join(mine, 't.token'), 'utf8'), 'in my dir\n');
    // A path that does not exist yet is safe so far: what is missing will be created by us.
    await checkPathSafe(join(shared, 'not-yet', 'deeper', 'x'));
  });

  it('a sticky directory that is not world-writable is shared too', async () => {
    const group = join(dir, 'group-shared');
    await mkdir(group);
    await chmod(group, 0o1770);
    const planted = join(group, 'link');
    await symlink(victim, planted);
    await assert.rejects(checkPathSafe(join(planted, 'ce.token')), {
      code: 'FILE_UNSAFE',
      message: `refusing to write ${join(planted, 'ce.token')}: ${planted} is a symbolic link in the sticky directory ${group}`,
    });
  });

  // The walk is remembered per directory for a few seconds (provenDirs in path-safety.ts): what another
  // user swaps in meanwhile must still be refused, with the walk's own message.
  it('refuses a directory swapped for a planted link right after a check of a path in it', async () => {
    const mine = join(shared, 'mine');
    await mkdir(mine, { mode: 0o700 });
    const path = join(mine, 'ce.token');
    await writeFileAtomic(path, 'mine\n');
    await checkPathSafe(path);
    // Gone (a tmp cleaner, or we removed it), and another user's link in its place.
    await rm(mine, { recursive: true });
    await runAsOther(['ln', '-s', victim, mine]);
    const message = `refusing to write ${path}: ${mine} is a symbolic link in the world-writable directory ${shared}`;
    await assert.rejects(checkPathSafe(path), { code: 'FILE_UNSAFE', message });
    await assert.rejects(writeFileAtomic(path, 'token\n'), { code: 'FILE_UNSAFE', message });
    assert.equal(await readFile(join(victim, 'ce.token'), 'utf8'), 'root data\n');
  });

  it('refuses a link planted as the file itself right after a check of its directory', async () => {
    const path = join(shared, 'ce.token');
    await checkPathSafe(path);
    await checkPathSafe(join(shared, 'other.token'));
    await runAsOther(['ln', '-s', join(victim, 'ce.token'), path]);
    await assert.rejects(checkPathSafe(path, 'read'), {
      code: 'FILE_UNSAFE',
      message: `refusing to read ${path}: ${path} is a symbolic link in the world-writable directory ${shared}`,
    });
    await assert.rejects(writeFileAtomic(path, 'token\n'), { code: 'FILE_UNSAFE' });
    assert.equal(await readFile(join(victim, 'ce.token'), 'utf8'), 'root data\n');
  });
});
