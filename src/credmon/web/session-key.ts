import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenwardenError } from '../../errors.js';
import { writeFileAtomic } from '../../files/index.js';

/**
 * `<credDir>/wsgi_session_key`: the key that signs the login web app's session cookies, 24 random bytes,
 * mode 0400, the same file the Flask app (utils.generate_secret_key) uses, so a switch between the two
 * needs no new key. Sessions do NOT survive a switch: this app keeps them in memory (the cookie is a
 * signed id), the Flask app in its signed cookies, so neither understands the other's cookie and a
 * switch (or a restart) logs out the logins in progress; nothing stored in the credential directory
 * is lost. Created exclusively and never half-written: the bytes go
 * into a temp file first, which is then hard-linked to the name (link(2) fails if the name exists). Two
 * processes starting together therefore agree: the one whose link fails reads the winner's key.
 */
export const SESSION_KEY_FILE = 'wsgi_session_key';
const KEY_BYTES = 24;
/** The Flask app accepts a key of 16 bytes or more; a shorter file (one it was killed writing) is replaced. */
const MIN_KEY_BYTES = 16;

export async function loadOrCreateSessionKey(credDir: string): Promise<Buffer> {
  const path = join(credDir, SESSION_KEY_FILE);
  const existing = await readKey(path);
  if (existing !== undefined && existing.length >= MIN_KEY_BYTES) return existing;
  if (existing !== undefined) {
    // Too short: replace it atomically, then use whatever is there (another process may have too).
    await writeFileAtomic(path, randomBytes(KEY_BYTES), { mode: 0o400 });
    return requireKey(path);
  }
  const temp = join(credDir, `.${SESSION_KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(
    temp,
    constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
    0o600,
  ).catch((err: unknown) => {
    throw ioError('create', path, err);
  });
  try {
    await handle.writeFile(randomBytes(KEY_BYTES));
    await handle.sync();
    await handle.close();
    await chmod(temp, 0o400);
    await link(temp, path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create', path, err);
    });
  } finally {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
  }
  return requireKey(path);
}

async function requireKey(path: string): Promise<Buffer> {
  const key = await readKey(path);
  if (key === undefined || key.length < MIN_KEY_BYTES)
    throw new TokenwardenError(
      'FILE_IO',
      `the session key ${path} is missing or shorter than ${MIN_KEY_BYTES} bytes after it was written`,
    );
  return key;
}

/** The key's bytes (at most 24 are used, as the Flask app reads them), or undefined when there is none. */
async function readKey(path: string): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', path, err);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new TokenwardenError('FILE_UNSAFE', `the session key ${path} is not a regular file`);
    if ((stats.mode & 0o077) !== 0)
      throw new TokenwardenError(
        'FILE_UNSAFE',
        `the session key ${path} may be read by others (mode ${(stats.mode & 0o777).toString(8)}): remove it, a new one is made at start`,
      );
    const buffer = Buffer.alloc(KEY_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, KEY_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function ioError(what: string, path: string, err: unknown): TokenwardenError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new TokenwardenError('FILE_IO', `cannot ${what} the session key ${path} (${code})`);
}
