/** wsgi_session_key and the signed session cookie. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createSessionStore,
  loadOrCreateSessionKey,
  readCookie,
  SESSION_IDLE_MS,
  SESSION_KEY_FILE,
  sessionCookie,
} from '../../../src/credmon/web/index.js';
import { tempDir } from '../../helpers/tmp.js';

const SESSION_KEY_MODULE = fileURLToPath(new URL('../../../src/credmon/web/session-key.js', import.meta.url));

/** Loads the key in a separate process (a second credmon, or credmon --web-only) and prints it in hex. */
function keyFromOtherProcess(dir: string): Promise<string> {
  const script = `import(${JSON.stringify(SESSION_KEY_MODULE)}).then(async (m) => process.stdout.write((await m.loadOrCreateSessionKey(${JSON.stringify(dir)})).toString('hex')))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
  });
}

describe('wsgi_session_key', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('is made once, 24 bytes, mode 0400, and reused on restart', async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const key = await loadOrCreateSessionKey(tmp.dir);
    assert.equal(key.length, 24);
    const path = join(tmp.dir, SESSION_KEY_FILE);
    assert.equal((await stat(path)).mode & 0o777, 0o400);
    assert.deepEqual(await readFile(path), key);
    assert.deepEqual(await loadOrCreateSessionKey(tmp.dir), key);
    // No temp file left behind.
    assert.deepEqual(await readdir(tmp.dir), [SESSION_KEY_FILE]);
  });

  it('is the same key for processes that start together', async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const keys = await Promise.all([
      keyFromOtherProcess(tmp.dir),
      keyFromOtherProcess(tmp.dir),
      keyFromOtherProcess(tmp.dir),
      loadOrCreateSessionKey(tmp.dir).then((k) => k.toString('hex')),
    ]);
    assert.equal(new Set(keys).size, 1, keys.join(' '));
    assert.equal(keys[0]?.length, 48);
    assert.deepEqual(await readdir(tmp.dir), [SESSION_KEY_FILE]);
  });

  it('replaces a truncated key (a Flask app killed while writing) and refuses one others can read', async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const path = join(tmp.dir, SESSION_KEY_FILE);
    await writeFile(path, '', { mode: 0o400 });
    const key = await loadOrCreateSessionKey(tmp.dir);
    assert.equal(key.length, 24);
    assert.equal((await stat(path)).mode & 0o777, 0o400);
    const other = await tempDir();
    const cleanupFirst = cleanup;
    cleanup = async () => {
      await cleanupFirst();
      await other.cleanup();
    };
    await writeFile(join(other.dir, SESSION_KEY_FILE), 'x'.repeat(24), { mode: 0o644 });
    await assert.rejects(loadOrCreateSessionKey(other.dir), /may be read by others \(mode 644\)/);
  });
});

describe('session cookies', () => {
  it('name a server-side session by an id signed with the key; another key, a changed id or time refuse it', () => {
    let now = 1_000_000;
    const store = createSessionStore(Buffer.alloc(24, 1), () => now);
    const session = store.create({ keyId: 'a'.repeat(64), user: 'alice', providers: new Map() });
    const value = store.cookieValue(session);
    assert.equal(store.fromCookie(value), session);
    const other = createSessionStore(Buffer.alloc(24, 2), () => now);
    assert.equal(other.fromCookie(value), undefined);
    const [id, sig] = value.split('.') as [string, string];
    assert.equal(store.fromCookie(`${id}x.${sig}`), undefined);
    // Another first character of the signature (never the one it has, so the forgery always differs;
    // the first, because every bit of it counts, unlike the padding bits of the last).
    const forged = `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    assert.equal(store.fromCookie(`${id}.${forged}`), undefined);
    assert.equal(store.fromCookie(id), undefined);
    assert.equal(store.fromCookie(undefined), undefined);
    now += SESSION_IDLE_MS + 1;
    assert.equal(store.fromCookie(value), undefined);
    assert.equal(store.size, 0);
  });

  it('are HttpOnly and SameSite=Lax, Secure when asked, and parsed from a Cookie header', () => {
    assert.equal(
      sessionCookie('v', { path: '/credmon', secure: true }),
      'credmon_session=v; Path=/credmon; HttpOnly; SameSite=Lax; Secure',
    );
    assert.equal(
      sessionCookie('v', { path: '/', secure: false }),
      'credmon_session=v; Path=/; HttpOnly; SameSite=Lax',
    );
    assert.equal(readCookie('a=1; credmon_session=xyz.abc; b=2', 'credmon_session'), 'xyz.abc');
    assert.equal(readCookie('a=1', 'credmon_session'), undefined);
  });
});
