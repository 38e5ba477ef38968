import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeToken } from '../../../src/tokens/index.js';
import { findLeaks, runCli, transcript } from '../../helpers/cli.js';
import { collectSecrets } from '../../helpers/secrets.js';
import { createWorld, tokenSection, type World } from '../../helpers/world.js';
import {
  HAVE_OIDC_AGENT,
  type RealOidcAgent,
  runOidcGenDeviceFlow,
  startRealOidcAgent,
} from './oidc-tools.js';

const CLIENT_ID = 'import-cli-client';
const CLIENT_SECRET = 'import-cli-client-secret-3c2b1a09';
const SCOPE = 'openid offline_access storage.read:/ compute.read';
const GEN_PASSWORD = 'oidc-gen-pw-8a7b6c5d';
const STORE_PASSWORD = 'renew-pw-1f2e3d4c';

describe('import-oidc-agent takes the password as osg-token-renewer set it up, and renew hints at it', () => {
  let world: World;
  let real: RealOidcAgent;

  async function oidcGen(name: string): Promise<void> {
    const gen = await runOidcGenDeviceFlow({
      agent: real,
      name,
      issuer: world.issuer.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scope: SCOPE,
      password: GEN_PASSWORD,
      approve: (code) => world.issuer.approveDeviceCode(code, `user-${name}`),
    });
    transcript.push(gen.output);
    assert.equal(gen.code, 0, gen.output);
  }

  before(async () => {
    assert.ok(HAVE_OIDC_AGENT, 'oidc-agent-cli is not installed: run scripts/setup.sh');
    world = await createWorld();
    await world.issuer.addClient({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPE,
    });
    real = await startRealOidcAgent(join(world.dir, 'oidc'));
    // osg-token-renewer-setup encrypts the oidc-agent account with the [account]'s password_file.
    await writeFile(join(world.dir, 'site.pw'), `${GEN_PASSWORD}\n`, { mode: 0o600 });
    await oidcGen('site');
    // Another one made by hand, with a password of its own, for an [account] whose password_file differs.
    await writeFile(join(world.dir, 'other.pw'), `${STORE_PASSWORD}\n`, { mode: 0o600 });
    await oidcGen('other');
    await real.stop();
    await world.writeConfig(
      `[account site]\npassword_file = ${join(world.dir, 'site.pw')}\n\n[account other]\npassword_file = ${join(world.dir, 'other.pw')}\n\n` +
        tokenSection(world, 'site-ce', 'site', {
          audience: 'https://ce.example.org',
          scope: 'compute.read',
        }) +
        tokenSection(world, 'other-se', 'other', {
          audience: 'https://se.example.org',
          scope: 'storage.read:/',
        }),
    );
  });

  after(async () => {
    await real?.stop();
    const leaks = findLeaks(await collectSecrets(world, { extra: [CLIENT_SECRET, GEN_PASSWORD] }));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('before the import, renew says import-oidc-agent where oidc-agent has the account, setup where not', async () => {
    const withFiles = await runCli(['renew', '--config', world.config], {
      env: { OIDC_CONFIG_DIR: real.configDir },
    });
    assert.equal(withFiles.code, 4, withFiles.stderr);
    assert.match(
      withFiles.stderr,
      new RegExp(
        `no credential for \\[account site\\] yet \\(oidc-agent has account site \\(${real.configDir}/site\\): import it with: tokenwarden import-oidc-agent site --config ${world.config}\\)`,
      ),
    );
    const empty = join(world.dir, 'empty-oidc');
    await mkdir(empty);
    const without = await runCli(['renew', '--config', world.config], { env: { OIDC_CONFIG_DIR: empty } });
    assert.equal(without.code, 4, without.stderr);
    assert.match(
      without.stderr,
      new RegExp(
        `no credential for \\[account site\\] yet \\(run: tokenwarden setup site --config ${world.config}\\)`,
      ),
    );
  });

  it("without a password option, the [account]'s password_file opens the oidc-agent file", async () => {
    const run = await runCli(['import-oidc-agent', 'site', '--config', world.config], {
      env: { OIDC_CONFIG_DIR: real.configDir },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /imported oidc-agent account site/);
  });

  it('--pw-file follows the secret-file rule: a group-writable one is refused before anything is read', async () => {
    const pwFile = join(world.dir, 'shared-password');
    await writeFile(pwFile, `${GEN_PASSWORD}\n`, { mode: 0o600 });
    await chmod(pwFile, 0o660);
    const run = await runCli(['import-oidc-agent', 'other', '--config', world.config, '--pw-file', pwFile], {
      env: { OIDC_CONFIG_DIR: real.configDir },
    });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`--pw-file: password_file ${pwFile} is writable by its group`));
    assert.doesNotMatch(run.stdout, /imported/);
  });

  it('--pw-cmd opens it as oidc-add does; the credential is encrypted with password_file, for renew', async () => {
    const pwFile = join(world.dir, 'gen-password');
    await writeFile(pwFile, `${GEN_PASSWORD}\n`, { mode: 0o600 });
    const wrong = await runCli(['import-oidc-agent', 'other', '--config', world.config], {
      env: { OIDC_CONFIG_DIR: real.configDir },
    });
    assert.equal(wrong.code, 4, 'password_file is not the oidc-agent password here');
    assert.match(wrong.stderr, /cannot decrypt oidc-agent account file/);
    const run = await runCli(
      ['import-oidc-agent', 'other', '--config', world.config, '--pw-cmd', `cat ${pwFile}`],
      { env: { OIDC_CONFIG_DIR: real.configDir } },
    );
    assert.equal(run.code, 0, run.stderr);
    const renew = await runCli(['renew', '--config', world.config]);
    assert.equal(renew.code, 0, renew.stderr);
    const se = decodeToken(await readFile(join(world.tokens, 'other-se.token'), 'utf8'));
    assert.deepEqual(se.audience, ['https://se.example.org']);
    assert.deepEqual(se.scope, ['storage.read:/']);
    const ce = decodeToken(await readFile(join(world.tokens, 'site-ce.token'), 'utf8'));
    assert.deepEqual(ce.audience, ['https://ce.example.org']);
    assert.deepEqual(ce.scope, ['compute.read']);
  });
});
