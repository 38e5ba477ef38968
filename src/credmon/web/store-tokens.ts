import { lstat, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenwardenError } from '../../errors.js';
import { credFilePath, writeCredFile } from '../cred-files.js';
import { type HeldTop, lockTop } from '../top-lock.js';

/**
 * What a finished login leaves in the credential directory, in the files and formats the Flask app
 * writes (OAuthCredmonWebserver.oauth_return) and the CredD, shadow and starter read:
 * - `.top`: `{"refresh_token", "scopes", "audience"}`, scopes and audience as the key file had them
 *   with blanks removed (the credmon compares them on refresh), each only when non-empty;
 * - `.use`: the token endpoint's response without `refresh_token`, plus `expires_at` (epoch seconds)
 *   as requests-oauthlib adds it;
 * - `.meta`: `{"client_id", "token_url", "use_refresh_token"}`. Unlike the Flask app's, no
 *   `client_secret`: the credmon reads it from `<P>_CLIENT_SECRET_FILE`.
 * Each file is written atomically, mode 0400 (cred-files.ts), under the credential's lock (top-lock.ts). Order: `.meta`, then `.top`, then `.use`:
 * the refresh token is stored before the access token is written, a scan in between finds the `.meta`
 * it needs, and the `.use` ends up newer than the `.top`, so the credmon does not refresh it at once.
 */

export interface LoginToStore {
  credDir: string;
  user: string;
  credName: string;
  scopes: string;
  audience: string;
  clientId: string;
  tokenUrl: string;
  /** The token endpoint's response (RFC 6749 section 5.1), plain JSON. */
  response: Record<string, unknown>;
  /** Epoch milliseconds. */
  now: number;
  /**
   * The caller already holds the credential's lock (lockForLogin, taken before the code exchange), or
   * found no `.top` to lock: storeLogin writes without locking. Otherwise it takes the lock itself.
   */
  locked?: boolean;
}

export interface StoredLogin {
  useRefreshToken: boolean;
}

export async function storeLogin(login: LoginToStore): Promise<StoredLogin> {
  await ensureUserDir(login.credDir, login.user);
  const { refresh_token: refreshToken, ...use } = login.response;
  const useRefreshToken = typeof refreshToken === 'string' && refreshToken !== '';
  const top: Record<string, unknown> = { refresh_token: useRefreshToken ? refreshToken : '' };
  const scopes = login.scopes.replaceAll(' ', '');
  const audience = login.audience.replaceAll(' ', '');
  if (scopes !== '') top.scopes = scopes;
  if (audience !== '') top.audience = audience;
  if (typeof use.expires_in === 'number' && use.expires_at === undefined)
    use.expires_at = login.now / 1000 + use.expires_in;
  const meta = {
    client_id: login.clientId,
    token_url: login.tokenUrl,
    use_refresh_token: useRefreshToken,
  };
  const write = (kind: 'top' | 'use' | 'meta', value: unknown) =>
    writeCredFile(login.credDir, login.user, login.credName, kind, JSON.stringify(value));
  // A refresh of the previous login's grant may be in flight in the credmon: wait for it (the lock it
  // holds on the old .top), so that its rotated .top cannot land over this login's.
  const held = login.locked
    ? undefined
    : await lockForLogin(login.credDir, login.user, login.credName, LOGIN_LOCK_WAIT_MS);
  try {
    await write('meta', meta);
    await write('top', top);
    await write('use', use);
  } finally {
    await held?.release();
  }
  return { useRefreshToken };
}

/**
 * The lock on the credential's current `.top`, or undefined when there is none yet (a first login: no
 * refresh can be in flight). The login web app takes it BEFORE exchanging the authorization code, so
 * that a refresh in progress never makes it drop tokens the provider already issued; it waits up to
 * `waitMs` (then LOCK_TIMEOUT, with the code not yet spent) and never past `signal`.
 */
export async function lockForLogin(
  credDir: string,
  user: string,
  credName: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<HeldTop | undefined> {
  const path = credFilePath(credDir, user, credName, 'top');
  try {
    return await lockTop(path, signal ?? new AbortController().signal, { waitMs });
  } catch (err) {
    if (err instanceof TokenwardenError && err.code === 'TOKEN_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * How long a login waits for a refresh of the same credential: the credmon holds the lock for up to its
 * call deadline (60 s, credmon.ts callTimeoutMs), so longer than that; the web server's request deadline
 * is raised by as much (server.ts).
 */
export const LOGIN_LOCK_WAIT_MS = 75_000;

/**
 * The user's directory of the credential directory, made as the CredD makes it (mode 0700) when it is
 * missing. Something else at the name (a symlink, a file) is refused, never followed or replaced.
 */
async function ensureUserDir(credDir: string, user: string): Promise<void> {
  const dir = join(credDir, user);
  try {
    await mkdir(dir, { mode: 0o700 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new TokenwardenError(
        'FILE_IO',
        `cannot create the user directory ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
  }
  const stats = await lstat(dir);
  if (!stats.isDirectory())
    throw new TokenwardenError(
      'FILE_UNSAFE',
      `${dir} is not a directory (a symlink or a file): refusing to write the user's tokens there`,
    );
}

/** Removes the CredD's key file once every login it asked for is done; gone already is fine. */
export async function removeKeyFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new TokenwardenError(
        'FILE_IO',
        `cannot remove the key file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
  }
}
