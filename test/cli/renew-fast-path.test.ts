import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Secret } from '../../src/secret.js';
import { createFileStore, GENERATED_PASSWORD_KDF_COST } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { unsignedJwt } from '../helpers/daemon-stub.js';
import { tempDir } from '../helpers/tmp.js';

const hook = fileURLToPath(new URL('../helpers/no-heavy-modules.js', import.meta.url));
const light = { env: { NODE_OPTIONS: `--import ${hook}` } };

describe("renew with nothing due (the timer's common case)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'tokens'));
    const password = randomBytes(32).toString('base64url');
    await writeFile(join(dir, 'vo.pw'), `${password}\n`, { mode: 0o600 });
    const store = createFileStore({
      credentialFile: (a) => join(dir, 'state', 'accounts', `${a}.cred`),
      lockFile: (a) => join(dir, 'state', 'locks', `${a}.lock`),
      password: async () => new Secret(password),
      kdf: GENERATED_PASSWORD_KDF_COST,
    });
    const at = new Date().toISOString();
    await store.save({
      version: 1,
      account: 'vo',
      issuer: 'https://issuer.example',
      clientId: 'c',
      refreshToken: new Secret(randomBytes(24).toString('base64url')),
      scope: ['openid', 'offline_access'],
      createdAt: at,
      updatedAt: at,
    });
    await store.close();
    const now = Math.floor(Date.now() / 1000);
    let text = `[DEFAULT]\nstate_dir = ${dir}/state\n\n[account vo]\npassword_file = ${dir}/vo.pw\nissuer = https://issuer.example\n`;
    for (const name of ['a', 'b']) {
      const path = join(dir, 'tokens', `${name}.token`);
      await writeFile(
        path,
        `${unsignedJwt({ iss: 'https://issuer.example', iat: now, exp: now + 86_400 })}\n`,
      );
      text += `\n[token ${name}]\naccount = vo\ntoken_path = ${path}\n`;
    }
    config = join(dir, 'config.ini');
    await writeFile(config, text);
    // The first run decrypts the account once and records that it can renew; later runs reuse that.
    const first = await runCli(['renew', '--config', config]);
    assert.equal(first.code, 0, first.stderr);
  });

  after(async () => {
    await cleanup();
  });

  it('loads no OIDC client, no libsodium, no lock addon, no child process, no jose index, no web stack', async () => {
    const run = await runCli(['renew', '--config', config], light);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 renewed, 2 still fresh, 0 failed/);
    const status = await runCli(['status', '--config', config, '--json'], light);
    assert.equal(status.code, 0, status.stderr);
    // The hook does refuse them: a forced run needs a lock and the OIDC client.
    const forced = await runCli(['renew', '--config', config, '--force'], light);
    assert.notEqual(forced.code, 0);
    assert.match(forced.stderr, /(fs-ext|openid-client) was loaded/);
  });
});
