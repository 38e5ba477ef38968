import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAgent } from '../helpers/agent.js';
import { CLI, findLeaks, runCli } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorld, refreshAccount, tokenSection, type World } from '../helpers/world.js';

describe('add says what is wrong with the account before it asks for a password', () => {
  let world: World;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  before(async () => {
    world = await createWorld();
    await world.writeConfig(
      `[account robot]
token_request_url = ${world.issuer.url}/token
client_id = robot
client_secret = robot-secret-for-add-test

${refreshAccount(world, 'ghost')}
${tokenSection(world, 'r', 'robot')}`,
    );
    // It holds a client_secret: private, as the secret-file rule wants (else add warns first).
    await chmod(world.config, 0o600);
    agent = await startAgent(world);
  });
  after(async () => {
    await stopAgent(agent.child);
    const leaks = findLeaks(await collectSecrets(world, { extra: ['robot-secret-for-add-test'] }));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI or agent output');
  });

  it('a client-credentials account: not for the agent, and what gets its tokens', async () => {
    const r = await runCli(['add', 'robot', '--config', world.config], { env: agent.env });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `tokenwarden: [account robot] of ${world.config} is a client-credentials account: the agent holds refresh-token accounts only\n` +
        `  its tokens come from: tokenwarden renew --config ${world.config}\n`,
    );
  });

  it('an account in no config and with no credential', async () => {
    const r = await runCli(['add', 'nosuch', '--config', world.config], { env: agent.env });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(
      r.stderr,
      `tokenwarden: no account nosuch: no [account nosuch] in ${world.config}, and no credential at ${join(world.state, 'accounts', 'nosuch.cred')}\n` +
        `  create it with: tokenwarden setup nosuch --config ${world.config} --issuer URL\n`,
    );
  });

  it('an account of the config that was never set up', async () => {
    const r = await runCli(['add', 'ghost', '--config', world.config], { env: agent.env });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(
      r.stderr,
      `tokenwarden: no account ghost: no credential at ${join(world.state, 'accounts', 'ghost.cred')}\n` +
        `  create it with: tokenwarden setup ghost --config ${world.config}\n`,
    );
  });
});

/** Runs the CLI in `cwd` (for a relative --socket). */
function runIn(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.TOKENWARDEN_SOCK;
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('socket directory hints never ask to chmod a shared directory', () => {
  let world: World;
  before(async () => {
    world = await createWorld();
  });
  after(async () => world.close());

  it('--socket /tmp/x.sock: no chmod of /tmp, a private directory instead', async () => {
    const before = (await stat('/tmp')).mode;
    const r = await runCli(['agent', '--socket', `/tmp/tw-hint-${process.pid}.sock`], {
      env: { TOKENWARDEN_SOCK: undefined, XDG_RUNTIME_DIR: undefined },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr,
      'tokenwarden: socket directory /tmp must be yours and mode 0700\n' +
        '  /tmp is not a private directory (and must stay as it is): leave out --socket (the agent then makes a private directory), or give --socket DIR/agent.sock with a new directory of your own (mkdir -m 700 DIR)\n',
    );
    assert.equal((await stat('/tmp')).mode, before);
  });

  it('a relative --socket in a shared working directory: names the directory, no chmod of .', async () => {
    const shared = join(world.dir, 'shared');
    await mkdir(shared, { recursive: true });
    await chmod(shared, 0o755);
    const r = await runIn(shared, ['agent', '--socket', 'x.sock']);
    assert.equal(r.code, 3, r.stderr);
    assert.doesNotMatch(r.stderr, /chmod/);
    assert.match(
      r.stderr,
      new RegExp(`^tokenwarden: socket directory ${shared} must be yours and mode 0700\n`),
    );
    assert.match(r.stderr, new RegExp(`  ${shared} is not a private directory .*leave out --socket`));
  });

  it('a directory of your own that is not shared still gets the chmod hint', async () => {
    const own = join(world.dir, 'mine', 'sockets');
    await mkdir(own, { recursive: true });
    await chmod(own, 0o750);
    const r = await runCli(['agent', '--socket', join(own, 'agent.sock')], {
      env: { TOKENWARDEN_SOCK: undefined },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`\n  run: chmod 700 ${own}, or give another --socket\n$`));
  });
});
