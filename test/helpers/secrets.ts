import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret } from '../../src/secret.js';
import { createFileStore } from '../../src/store/index.js';
import type { World } from './world.js';

/** Where a tokenwarden run keeps its files: the layout of a World, also made by `demo --dir`. */
export interface SecretFiles {
  /** Holds ACCOUNT.pw password files and *.secret client secret files. */
  dir: string;
  /** Holds the token files. */
  tokens: string;
  /** The state directory: accounts/ACCOUNT.cred. */
  state: string;
}

export interface CollectOptions {
  /**
   * Passwords of accounts that have no ACCOUNT.pw file (given with --pw-env, say): secrets themselves,
   * and the keys that open those accounts' credential records.
   */
  passwords?: Record<string, string>;
  /** Other secrets the test knows of: a password since overwritten, a client secret given to the issuer. */
  extra?: Iterable<string>;
}

/**
 * Every secret a test world holds: what its issuer issued, the access tokens on disk, the passwords,
 * and the refresh tokens and client secrets inside the encrypted credential records (opened with their
 * passwords).
 */
export async function collectSecrets(world: World, options: CollectOptions = {}): Promise<string[]> {
  return collectSecretsIn(world, world.issuer.issuedSecrets(), options);
}

/** The secrets found in `files`, plus `issued` (what the issuer handed out, when the test can see it). */
export async function collectSecretsIn(
  files: SecretFiles,
  issued: Iterable<string>,
  options: CollectOptions = {},
): Promise<string[]> {
  const secrets: string[] = [...issued, ...(options.extra ?? [])];
  const passwords = new Map<string, string>(Object.entries(options.passwords ?? {}));
  secrets.push(...passwords.values());
  // Only regular files: a test may put a directory where a password file is expected.
  const list = async (dir: string) =>
    (await readdir(dir, { withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile())
      .map((e) => e.name);
  // Temp files a killed writer left (".name.XXXX") hold the same kind of secret as the token files.
  for (const f of await list(files.tokens))
    secrets.push((await readFile(join(files.tokens, f), 'utf8')).trim());
  for (const f of await list(files.dir)) {
    if (f.endsWith('.pw') || f.endsWith('.secret')) {
      const value = (await readFile(join(files.dir, f), 'utf8')).split('\n')[0] ?? '';
      secrets.push(value);
      if (f.endsWith('.pw') && !passwords.has(f.slice(0, -3))) passwords.set(f.slice(0, -3), value);
    }
  }
  const accounts = join(files.state, 'accounts');
  for (const f of await list(accounts)) {
    if (!f.endsWith('.cred')) continue;
    const name = f.slice(0, -'.cred'.length);
    const password = passwords.get(name);
    if (password === undefined) continue;
    const store = createFileStore({
      credentialFile: () => join(accounts, f),
      lockFile: () => join(files.state, 'locks', `${name}.lock`),
      password: async () => new Secret(password),
    });
    try {
      const record = await store.load(name);
      for (const s of [record?.refreshToken, record?.previousRefreshToken, record?.clientSecret]) {
        if (s) secrets.push(s.reveal());
      }
    } catch {
      // A record made unreadable on purpose by a test holds nothing we can list.
    } finally {
      await store.close();
    }
  }
  return secrets.filter((s) => s.length >= 8);
}
