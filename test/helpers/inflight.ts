import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret } from '../../src/secret.js';
import { createFileStore } from '../../src/store/index.js';
import type { World } from './world.js';

/**
 * After a process was SIGKILLed: is the account's stored refresh token still the live one? If the issuer
 * has rotated it away, that is only acceptable when the rotation happened after the record's last write,
 * i.e. the process died after the issuer answered and before the answer reached the disk (the window no
 * client can close: the same as a network cut at that moment). A stale token written after a rotation,
 * or a record that no longer opens, fails the assertion.
 */
export async function storedRefreshTokenState(
  world: World,
  account: string,
): Promise<'live' | 'lost-in-flight'> {
  const file = join(world.state, 'accounts', `${account}.cred`);
  const password = new Secret(
    (await readFile(join(world.dir, `${account}.pw`), 'utf8')).split('\n')[0] as string,
  );
  const store = createFileStore({
    credentialFile: () => file,
    lockFile: () => join(world.state, 'locks', `${account}.lock`),
    password: async () => password,
  });
  try {
    const record = await store.load(account);
    assert.ok(record?.refreshToken, `the credential of ${account} opens and holds a refresh token`);
    const consumedAt = world.issuer.refreshTokenConsumedAt(record.refreshToken.reveal());
    if (consumedAt === undefined) return 'live';
    const savedAt = (await stat(file)).mtimeMs;
    assert.ok(consumedAt > savedAt, `${account}: a rotated refresh token was replaced by a stale one`);
    // The access token of that exchange must not have reached any token file: it may only be written
    // after the refresh token that came with it is stored (docs/architecture.md invariant 1).
    const issued = world.issuer.accessTokenIssuedFor(record.refreshToken.reveal());
    if (issued !== undefined) {
      for (const f of await readdir(world.tokens)) {
        const text = await readFile(join(world.tokens, f), 'utf8').catch(() => '');
        assert.ok(
          !text.includes(issued),
          `${account}: ${f} holds an access token whose refresh token was lost`,
        );
      }
    }
    return 'lost-in-flight';
  } finally {
    await store.close();
  }
}
