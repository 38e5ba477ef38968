import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeToken } from '../../src/tokens/index.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

const ROBOT_SECRET = 'robot-secret-4b1f0c9e7d2a';

describe('renew against the test issuer (OSG documentation examples)', () => {
  let world: World;

  before(async () => {
    world = await createWorld({ accessTokenTtl: 3 * 3600 });
    await world.issuer.addClient({
      client_id: 'robot',
      client_secret: ROBOT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'compute.read compute.modify',
    });
    await world.writeConfig(
      `[account robot]
token_request_url = ${world.issuer.url}/token
client_id = robot
client_secret = ${ROBOT_SECRET}

${tokenSection(world, 'robot-ce', 'robot', { audience: 'https://ce.example.org:9619', scope: 'compute.read', min_lifetime: 7200 })}
${refreshAccount(world, 'vo')}
${tokenSection(world, 'storage', 'vo', { audience: 'https://storage.example.org', scope: 'storage.read:/ storage.create:/' })}
${tokenSection(world, 'compute', 'vo', { audience: 'https://ce1.example.org https://ce2.example.org', scope: 'compute.read compute.modify' })}
${tokenSection(world, 'plain', 'vo', { scope: 'storage.read:/', newline: 'false', mode: '0640' })}
`,
    );
    const setup = await world.setup('vo');
    assert.equal(setup.code, 0, setup.stderr);
  });

  after(async () => {
    const leaks = findLeaks([...(await collectSecrets(world)), ROBOT_SECRET]);
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('renews every token with the asked audience and scope', async () => {
    const run = await runCli(['renew', '--config', world.config, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { renewed: number; failed: number };
    assert.equal(summary.renewed, 4);
    assert.equal(summary.failed, 0);
    const read = async (name: string) => readFile(join(world.tokens, `${name}.token`), 'utf8');
    const ce = decodeToken(await read('robot-ce'));
    assert.deepEqual(ce.audience, ['https://ce.example.org:9619']);
    assert.deepEqual(ce.scope, ['compute.read']);
    const storage = decodeToken(await read('storage'));
    assert.deepEqual(storage.audience, ['https://storage.example.org']);
    assert.deepEqual(storage.scope.sort(), ['storage.create:/', 'storage.read:/']);
    assert.equal(storage.claims.iss, world.issuer.url);
    const compute = decodeToken(await read('compute'));
    assert.deepEqual(compute.audience.sort(), ['https://ce1.example.org', 'https://ce2.example.org']);
    assert.deepEqual(compute.scope.sort(), ['compute.modify', 'compute.read']);
    const plainText = await read('plain');
    assert.ok(!plainText.endsWith('\n'), 'newline = false writes the bare token');
    assert.deepEqual(decodeToken(plainText).audience, ['https://wlcg.cern.ch/jwt/v1/any']);
    assert.ok((await read('storage')).endsWith('\n'));
    assert.equal((await stat(join(world.tokens, 'storage.token'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(world.tokens, 'plain.token'))).mode & 0o777, 0o640);
  });

  it('leaves fresh tokens alone without asking the issuer', async () => {
    const before = JSON.stringify(world.issuer.stats().tokenRequests);
    const run = await runCli(['renew', '--config', world.config]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 renewed, 4 still fresh, 0 failed/);
    assert.equal(JSON.stringify(world.issuer.stats().tokenRequests), before);
  });

  it('forced renewals rotate and persist the refresh token every time', async () => {
    for (let i = 0; i < 3; i++) {
      const run = await runCli(['renew', '--config', world.config, '--force']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /4 renewed/);
    }
    assert.equal(world.issuer.stats().reuseDetected, 0);
    assert.equal(world.issuer.stats().revokedGrants, 0);
  });

  it('status shows every token as ok', async () => {
    const run = await runCli(['status', '--config', world.config, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as {
      tokens: Array<{ token: string; state: string; expires_in: number }>;
    };
    assert.deepEqual(
      status.tokens.map((t) => [t.token, t.state]),
      [
        ['robot-ce', 'ok'],
        ['storage', 'ok'],
        ['compute', 'ok'],
        ['plain', 'ok'],
      ],
    );
    assert.ok(status.tokens.every((t) => t.expires_in > 3 * 3600 - 120));
    const text = await runCli(['status', '--config', world.config]);
    assert.match(text.stdout, /^TOKEN\s+ACCOUNT\s+STATE\s+EXPIRES IN/);
  });

  it('a changed audience in the config is renewed on the next run', async () => {
    const original = await readFile(world.config, 'utf8');
    await writeFile(
      world.config,
      original.replace('https://storage.example.org', 'https://other.example.org'),
    );
    try {
      const run = await runCli(['renew', '--config', world.config, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as {
        tokens: Array<{ token: string; result: string; reason?: string }>;
      };
      assert.deepEqual(
        out.tokens.filter((t) => t.result === 'renewed').map((t) => [t.token, t.reason]),
        [['storage', 'audience']],
      );
      const storage = decodeToken(await readFile(join(world.tokens, 'storage.token'), 'utf8'));
      assert.deepEqual(storage.audience, ['https://other.example.org']);
    } finally {
      await writeFile(world.config, original);
    }
  });
});
