import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAgent } from '../helpers/agent.js';
import { findLeaks, runCli, transcript } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, type World } from '../helpers/world.js';
import { OIDC_GEN_4_2_6_FILE, OIDC_GEN_4_2_6_PASSWORD } from './oidc-agent/fixtures.js';
import { encryptedRequest } from './oidc-agent/ipc-client.js';
import { HAVE_OIDC_AGENT } from './oidc-agent/oidc-tools.js';

interface ToolRun {
  code: number;
  out: string;
}

/**
 * Runs one of oidc-agent's real tools (oidc-add, oidc-gen) against `sock`, with its own HOME and config
 * directory, stdin closed (so it never waits for a prompt). Its output goes to the leak audit.
 */
function runTool(tool: string, args: string[], home: string, sock: string, extraEnv = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      `/usr/bin/${tool}`,
      args,
      {
        env: { ...process.env, HOME: home, OIDC_CONFIG_DIR: join(home, 'cfg'), OIDC_SOCK: sock, ...extraEnv },
        timeout: 15_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        transcript.push(stdout, stderr);
        resolve({ code, out: `${stdout}${stderr}` });
      },
    ).stdin?.end();
  });
}

describe("oidc-agent's own tools against tokenwarden's agent: answers, not riddles", () => {
  let world: World;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let home: string;

  before(async () => {
    assert.ok(HAVE_OIDC_AGENT, 'oidc-agent-cli is not installed');
    world = await createWorldWithAccount('vo');
    agent = await startAgent(world);
    assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
    home = join(world.dir, 'oidc-home');
    await mkdir(join(home, 'cfg'), { recursive: true, mode: 0o700 });
    // An account file made by the real oidc-gen 4.2.6, so that oidc-add gets as far as asking the agent.
    await writeFile(join(home, 'cfg', 'gen'), OIDC_GEN_4_2_6_FILE, { mode: 0o600 });
  });

  after(async () => {
    await stopAgent(agent.child);
    const leaks = findLeaks(await collectSecrets(world, { extra: [OIDC_GEN_4_2_6_PASSWORD] }));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in tool or agent output');
  });

  it('oidc-add -a lists the loaded accounts', async () => {
    const listed = await runTool('oidc-add', ['-a'], home, agent.sock);
    assert.equal(listed.code, 0, listed.out);
    assert.match(listed.out, /currently loaded:?\s*\n\s*vo\s*$/);
    assert.equal((await runCli(['remove', 'vo'], { env: agent.env })).code, 0);
    const none = await runTool('oidc-add', ['-a'], home, agent.sock);
    assert.match(none.out, /No account configurations are currently loaded/);
    assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
  });

  it('oidc-add NAME, -r NAME and -R name the tokenwarden command that does it', async () => {
    const add = await runTool('oidc-add', ['--pw-env', 'gen'], home, agent.sock, {
      OIDC_ENCRYPTION_PW: OIDC_GEN_4_2_6_PASSWORD,
    });
    assert.notEqual(add.code, 0);
    assert.match(
      add.out,
      /Error: oidc-add cannot load accounts into tokenwarden's agent: run tokenwarden import-oidc-agent \S+ once, then tokenwarden add \S+/,
    );
    const remove = await runTool('oidc-add', ['-r', 'gen'], home, agent.sock);
    assert.notEqual(remove.code, 0);
    assert.match(
      remove.out,
      /Error: oidc-add -r is not served by tokenwarden's agent: run tokenwarden remove gen/,
    );
    const all = await runTool('oidc-add', ['-R'], home, agent.sock);
    assert.notEqual(all.code, 0);
    assert.match(
      all.out,
      /Error: oidc-add -R .*run tokenwarden remove ACCOUNT for each account tokenwarden list shows/,
    );
    // Nothing was unloaded by any of them.
    const listed = await runTool('oidc-add', ['-a'], home, agent.sock);
    assert.match(listed.out, /\n\s*vo\s*$/);
  });

  it('oidc-gen, with a client or with dynamic registration, is told to use tokenwarden setup', async () => {
    const common = ['--flow=device', '--scope=openid offline_access', '--pw-env', '--confirm-default'];
    const manual = await runTool(
      'oidc-gen',
      [
        `--iss=${world.issuer.url}`,
        '--client-id=x',
        '--client-secret=not-a-real-secret',
        ...common,
        '--prompt=none',
        '--no-url-call',
        'newacct',
      ],
      home,
      agent.sock,
      { OIDC_ENCRYPTION_PW: 'gen-password' },
    );
    assert.notEqual(manual.code, 0);
    assert.match(
      manual.out,
      new RegExp(
        `oidc-gen cannot create accounts in tokenwarden's agent: run tokenwarden setup newacct --issuer ${world.issuer.url}/?, then tokenwarden add newacct`,
      ),
    );
    const dynamic = await runTool(
      'oidc-gen',
      [`--iss=${world.issuer.url}`, ...common, '--prompt=none', '--no-url-call', 'dynacct'],
      home,
      agent.sock,
      { OIDC_ENCRYPTION_PW: 'gen-password' },
    );
    assert.notEqual(dynamic.code, 0);
    assert.match(dynamic.out, /run tokenwarden setup dynacct --issuer \S+, then tokenwarden add dynacct/);
  });

  it("oidc-token --id-token's request is refused, naming tokenwarden token", async () => {
    // Debian's oidc-token 4.2.6 never sends this request (its --id-token fails before connecting, against
    // oidc-agent too); this is the request as its source builds it, over the same encrypted transport.
    const { reply } = await encryptedRequest(agent.sock, {
      request: 'id_token',
      account: 'vo',
      application_hint: 'oidc-token',
    });
    assert.equal(reply?.status, 'failure');
    assert.match(
      String(reply?.error),
      /tokenwarden's agent hands out access tokens only, no ID tokens: run tokenwarden token vo for an access token/,
    );
  });
});
