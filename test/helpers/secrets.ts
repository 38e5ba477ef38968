import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret } from '../../src/secret.js';
import { createFileStore } from '../../src/store/index.js';
import type { World } from './world.js';

/**
 * Every secret a test world holds: the access tokens on disk, the passwords, and the refresh tokens and
 * client secrets inside the encrypted credential records (opened with their passwords).
 */
export async function collectSecrets(world: World): Promise<string[]> {
  const secrets: string[] = [...world.issuer.issuedSecrets()];
  const list = async (dir: string) => readdir(dir).catch(() => [] as string[]);
  for (const f of await list(world.tokens))
    secrets.push((await readFile(join(world.tokens, f), 'utf8')).trim());
  const passwords = new Map<string, string>();
  for (const f of await list(world.dir)) {
    if (f.endsWith('.pw') || f.endsWith('.secret')) {
      const value = (await readFile(join(world.dir, f), 'utf8')).split('\n')[0] ?? '';
      secrets.push(value);
      if (f.endsWith('.pw')) passwords.set(f.slice(0, -3), value);
    }
  }
  const accounts = join(world.state, 'accounts');
  for (const f of await list(accounts)) {
    const name = f.replace(/\.cred$/, '');
    const password = passwords.get(name);
    if (password === undefined) continue;
    const store = createFileStore({
      credentialFile: () => join(accounts, f),
      lockFile: () => join(world.state, 'locks', `${name}.lock`),
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
