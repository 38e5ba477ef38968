import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { describeError, errnoCode } from '../files/io-error.js';
import { sweepStaleTemps } from '../files/stale-temps.js';
import { loadSigningKey } from './load-key.js';
import type { SigningAlg } from './types.js';

const PRIVATE_MODE = 0o600;
const PUBLIC_MODE = 0o644;

/**
 * Makes sure a signing key pair exists, as HTCondor's local credmon expects it at first start
 * (`LOCAL_CREDMON_PRIVATE_KEY`, `LOCAL_CREDMON_PUBLIC_KEY`): when the private key is missing, a new one
 * is generated (ES256: P-256 in SEC1 `EC PRIVATE KEY` PEM, RS256: 2048-bit `RSA PRIVATE KEY`, the
 * headers HTCondor's credmon checks for), mode 0600, with its public key beside it (SPKI `PUBLIC KEY`
 * PEM, 0644). A public key missing beside an existing private key is derived from it.
 *
 * Each file is written whole to a temp file in its directory, fsynced, then hard-linked to its name,
 * which fails rather than replaces when the name exists: of two processes starting at once one creates
 * the key and the other loads the winner's; nobody ever sees a half-written key, and no existing file is
 * replaced. A public key that exists but does not match the private key is refused (CONFIG_INVALID), as
 * is a public key without its private key (nothing is generated: restore the private key or remove the
 * stale public one).
 */
export async function ensureKeyPair(
  privateKeyPath: string,
  publicKeyPath: string,
  opts: { alg: SigningAlg },
): Promise<{ created: boolean }> {
  let created = false;
  if (!(await exists(privateKeyPath))) {
    if ((await exists(publicKeyPath)) && !(await exists(privateKeyPath)))
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `public key ${publicKeyPath} exists but its private key ${privateKeyPath} does not`,
        { hint: 'restore the private key, or remove the public key to have a new pair generated' },
      );
    const generated = generatePrivateKey(opts.alg);
    const pem = generated.export({ format: 'pem', type: opts.alg === 'ES256' ? 'sec1' : 'pkcs1' }) as string;
    created = await createExclusively(privateKeyPath, pem, PRIVATE_MODE, 'private key');
  }
  // Loaded from the file even when just written: the key in use is the one on disk, ours or the winner's.
  const { privateKey } = await loadSigningKey(privateKeyPath, { alg: opts.alg });
  const publicPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }) as string;
  if (!(await exists(publicKeyPath)))
    await createExclusively(publicKeyPath, publicPem, PUBLIC_MODE, 'public key');
  await checkPublicMatches(publicKeyPath, publicPem, privateKeyPath);
  return { created };
}

/**
 * A new key of the algorithm's kind. RSA keys are 2048 bits: what scitokens and HTCondor generate, and
 * still ~6 times faster to sign with than 3072.
 */
export function generatePrivateKey(alg: SigningAlg): KeyObject {
  return alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

/**
 * Writes `text` to `path` only if `path` does not exist: temp file (O_EXCL, `mode`), fsync, link(2) to
 * the name, unlink the temp, fsync the directory. Returns false when another process made it first.
 * The temp files a creation killed midway left in the directory are removed first (sweepStaleTemps:
 * ours, of our name pattern, over an hour old).
 */
export async function createExclusively(
  path: string,
  text: string,
  mode: number,
  what: string,
): Promise<boolean> {
  const dir = dirname(path);
  await sweepStaleTemps(dir);
  const temp = join(dir, `.${basename(path).slice(0, 200)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(
      temp,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      mode,
    );
  } catch (err) {
    throw new TokenwardenError('CONFIG_INVALID', `cannot create ${what} ${path}: ${describeError(err)}`, {
      hint: `check that the directory ${dir} exists and that this user may write it`,
    });
  }
  try {
    try {
      await handle.chmod(mode); // whatever the umask
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, path);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw new TokenwardenError('CONFIG_INVALID', `cannot create ${what} ${path}: ${describeError(err)}`);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDir(dir);
  return true;
}

async function checkPublicMatches(
  publicKeyPath: string,
  expectedPem: string,
  privateKeyPath: string,
): Promise<void> {
  let text: string;
  try {
    const handle = await open(
      publicKeyPath,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    try {
      const stats = await handle.stat();
      if (!stats.isFile() || stats.size > 64 * 1024)
        throw new TokenwardenError(
          'CONFIG_INVALID',
          `public key ${publicKeyPath} is not a PEM public key file`,
        );
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof TokenwardenError) throw err;
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `cannot read public key ${publicKeyPath}: ${describeError(err)}`,
    );
  }
  let same = false;
  try {
    const found = createPublicKey({ key: text, format: 'pem' }).export({ format: 'der', type: 'spki' });
    const expected = createPublicKey({ key: expectedPem, format: 'pem' }).export({
      format: 'der',
      type: 'spki',
    });
    same = found.equals(expected);
  } catch {
    throw new TokenwardenError('CONFIG_INVALID', `public key ${publicKeyPath} is not a valid PEM public key`);
  }
  if (!same)
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `public key ${publicKeyPath} does not match private key ${privateKeyPath}`,
      { hint: 'remove the public key: it is derived again from the private key at the next start' },
    );
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw new TokenwardenError('CONFIG_INVALID', `cannot check ${path}: ${describeError(err)}`);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the link itself is done.
  } finally {
    await handle.close();
  }
}
