import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeToken } from '../../src/tokens/index.js';
import { startAgent, stopAgent } from '../helpers/agent.js';
import { findLeaks, runCli, transcript } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, createWorldWithAccount, type World } from '../helpers/world.js';
import { HAVE_OIDC_TOKEN, runOidcToken as runOidcTokenUnaudited } from './oidc-agent/ipc-client.js';
import { type RealOidcAgent, runOidcGenDeviceFlow, startRealOidcAgent } from './oidc-agent/oidc-tools.js';

/**
 * The real oidc-token, its stderr kept for the leak audit: its error lines carry what our agent
 * answered. Its stdout is a token by design, so it stays out, like `runCli`'s `tokenOnStdout`.
 */
async function runOidcToken(...args: Parameters<typeof runOidcTokenUnaudited>) {
  const run = await runOidcTokenUnaudited(...args);
  transcript.push(run.stderr);
  return run;
}

describe("oidc-agent compatibility: the real oidc-token against tokenwarden's agent", () => {
  let world: World;
  let agent: Awaited<ReturnType<typeof startAgent>>;

  before(async () => {
    assert.ok(HAVE_OIDC_TOKEN, 'oidc-agent-cli is not installed: run scripts/setup.sh');
    world = await createWorldWithAccount('vo');
    agent = await startAgent(world);
    assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
  });

  after(async () => {
    await stopAgent(agent.child);
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI, agent or oidc-token output');
  });

  it('plain, --aud, --scope, -t and -f give what was asked', async () => {
    const plain = await runOidcToken(agent.sock, ['vo']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(decodeToken(plain.stdout).claims.iss, world.issuer.url);
    const aud = await runOidcToken(agent.sock, ['--aud=https://a.example https://b.example', 'vo']);
    assert.deepEqual(decodeToken(aud.stdout).audience.sort(), ['https://a.example', 'https://b.example']);
    const scope = await runOidcToken(agent.sock, ['--scope=compute.read', 'vo']);
    assert.deepEqual(decodeToken(scope.stdout).scope, ['compute.read']);
    const before = world.issuer.stats().tokenRequests.refresh_token ?? 0;
    const again = await runOidcToken(agent.sock, [
      '--aud=https://b.example https://a.example',
      '-t',
      '300',
      'vo',
    ]);
    assert.equal(again.stdout, aud.stdout, 'served from the cache, unlike oidc-agent with --aud');
    assert.equal((world.issuer.stats().tokenRequests.refresh_token ?? 0) - before, 0);
    const forced = await runOidcToken(agent.sock, ['-f', 'vo']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(forced.stdout, plain.stdout);
    assert.equal((world.issuer.stats().tokenRequests.refresh_token ?? 0) - before, 1);
  });

  it('by issuer URL, and -c prints the export lines', async () => {
    const byIssuer = await runOidcToken(agent.sock, [`${world.issuer.url}/`]);
    assert.equal(byIssuer.code, 0, byIssuer.stderr);
    const env = await runOidcToken(agent.sock, ['-c', 'vo']);
    assert.match(env.stdout, /OIDC_AT=\S+; export OIDC_AT;/);
    assert.match(env.stdout, new RegExp(`OIDC_ISS=${world.issuer.url}`));
  });

  it('an unknown account is an error oidc-token shows, with what to run', async () => {
    const run = await runOidcToken(agent.sock, ['nosuch']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /account nosuch is not loaded/);
    assert.match(run.stderr, /run: tokenwarden add nosuch/);
  });
});

describe('import-oidc-agent: an account made by the real oidc-gen serves tokens', () => {
  let world: World;
  let real: RealOidcAgent;
  const secret = 'oidc-gen-client-secret-7f3e1a';
  const password = 'gen-password-1';

  before(async () => {
    world = await createWorld();
    await world.issuer.addClient({
      client_id: 'oidc-gen-client',
      client_secret: secret,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: 'openid offline_access storage.read:/ compute.read',
    });
    real = await startRealOidcAgent(join(world.dir, 'oidc'));
  });

  after(async () => {
    await real.stop();
    // The oidc-agent password imports with --pw-env, so no fromgen.pw file names it: pass it here.
    const leaks = findLeaks(
      await collectSecrets(world, { passwords: { fromgen: password }, extra: [secret] }),
    );
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI, agent, oidc-gen or oidc-token output');
  });

  it('imports with the oidc-agent password and serves through our agent', async () => {
    const gen = await runOidcGenDeviceFlow({
      agent: real,
      name: 'fromgen',
      issuer: world.issuer.url,
      clientId: 'oidc-gen-client',
      clientSecret: secret,
      scope: 'openid offline_access storage.read:/ compute.read',
      password,
      approve: (code) => world.issuer.approveDeviceCode(code, 'gen-user'),
    });
    transcript.push(gen.output);
    assert.equal(gen.code, 0, gen.output);
    await real.stop();
    await world.writeConfig('');
    const imported = await runCli(
      ['import-oidc-agent', 'fromgen', '--dir', real.configDir, '--pw-env', 'PW', '--config', world.config],
      {
        env: { PW: password },
      },
    );
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /load it with: tokenwarden add fromgen/);
    // A second import would put back a refresh token that may have rotated since: refused without --force.
    const credential = join(world.state, 'accounts', 'fromgen.cred');
    const kept = await readFile(credential);
    const twice = await runCli(
      ['import-oidc-agent', 'fromgen', '--dir', real.configDir, '--pw-env', 'PW', '--config', world.config],
      { env: { PW: password } },
    );
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(
      twice.stderr,
      /tokenwarden account fromgen exists already .*\n\s+to replace it .* add --force/,
    );
    assert.deepEqual(await readFile(credential), kept);
    // No config at all: named as a missing file, so that a config another suite puts at a default
    // path (/etc/osg/token-renewer/config.ini, by the migrate test) cannot change what this one sees.
    const noConfig = { TOKENWARDEN_CONFIG: join(world.dir, 'no-such-config.ini') };
    const traversal = await runCli(['import-oidc-agent', '../fromgen', '--dir', real.configDir], {
      env: noConfig,
    });
    assert.equal(traversal.code, 2);
    assert.match(traversal.stderr, /invalid oidc-agent account name/);
    const wrong = await runCli(['import-oidc-agent', 'fromgen', '--dir', real.configDir, '--pw-env', 'PW'], {
      env: { ...noConfig, PW: 'nope' },
    });
    assert.equal(wrong.code, 4);
    assert.match(wrong.stderr, /cannot decrypt oidc-agent account file/);
    const agent = await startAgent(world);
    try {
      const add = await runCli(['add', 'fromgen', '--pw-env', 'PW', '--config', world.config], {
        env: { ...agent.env, PW: password },
      });
      assert.equal(add.code, 0, add.stderr);
      const token = await runCli(
        ['token', 'fromgen', '--scope', 'compute.read', '--aud', 'https://x.example'],
        { env: agent.env, tokenOnStdout: true },
      );
      assert.equal(token.code, 0, token.stderr);
      const d = decodeToken(token.stdout);
      assert.equal(d.claims.sub, 'gen-user');
      assert.deepEqual(d.scope, ['compute.read']);
    } finally {
      await stopAgent(agent.child);
    }
  });
});
