import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentRequest, createAgent } from '../../src/agent/index.js';
import { startAgent } from '../helpers/agent.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { storedRefreshTokenState } from '../helpers/inflight.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/** Resolves when the child's stderr has shown a line matching `re`. */
function waitForOutput(stream: NodeJS.ReadableStream, re: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (re.test(seen)) {
        stream.off('data', onData);
        resolve(seen);
      }
    };
    stream.on('data', onData);
  });
}

// The third: a second signal while it stops (a second Ctrl-C) must not cut the refresh short either.
const CASES = [['SIGTERM'], ['SIGINT'], ['SIGTERM', 'SIGINT']] as const;
for (const [signal, again] of CASES) {
  describe(`${signal}${again ? ` then ${again}` : ''} to the agent while a refresh is in flight`, () => {
    let world: World;
    before(async () => {
      world = await createWorldWithAccount('vo');
      await world.writeConfig(`${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo')}`);
    });
    after(async () => {
      const leaks = findLeaks(await collectSecrets(world));
      await world.close();
      assert.deepEqual(leaks, [], 'a secret appeared in CLI or agent output');
    });

    it('finishes and saves the refresh, refuses new requests, removes its socket, logs the stop', async () => {
      const agent = await startAgent(world);
      const stderr = agent.child.stderr as NodeJS.ReadableStream;
      let log = '';
      stderr.on('data', (d: Buffer) => {
        log += d.toString();
      });
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
      // A client connected before the stop, whose request arrives after it.
      const late = connect(agent.sock);
      await new Promise((r) => late.once('connect', r));

      world.issuer.setFault('slow');
      const faulted = world.issuer.stats().faultedRequests;
      const inFlight = runCli(['token', 'vo', '--force'], { env: agent.env, tokenOnStdout: true });
      while (world.issuer.stats().faultedRequests === faulted) await new Promise((r) => setTimeout(r, 20));
      // The refresh grant is at the issuer now, which answers it only after a while.
      const exited = new Promise<number | null>((resolve) =>
        agent.child.once('exit', (code) => resolve(code)),
      );
      const stopping = waitForOutput(stderr, / stopping reason=SIG/);
      agent.child.kill(signal);
      await stopping;
      if (again) {
        const repeated = waitForOutput(stderr, / stop-repeated signal=SIG/);
        agent.child.kill(again);
        await repeated;
      }

      let reply = '';
      late.on('data', (d: Buffer) => {
        reply += d.toString();
      });
      const answered = new Promise((r) => late.once('close', r));
      late.end(JSON.stringify({ request: 'access_token', account: 'vo' }));
      await answered;
      assert.match(reply, /"status":"failure".*the agent is stopping/);

      const served = await inFlight;
      assert.equal(served.code, 0, `the request in flight is answered: ${served.stderr}`);
      assert.equal(await exited, 0);
      world.issuer.setFault('none');
      assert.equal(existsSync(agent.sock), false, 'the socket is removed');
      assert.match(log, new RegExp(`stopping reason=${signal} in_flight=1\\n`));
      assert.match(log, new RegExp(`stop reason=${signal} finished="all requests in flight"\\n`));
      if (again) assert.match(log, new RegExp(`stop-repeated signal=${again} `));

      // The rotated refresh token was saved: the stored one is the live one, and it still works.
      assert.equal(await storedRefreshTokenState(world, 'vo'), 'live');
      const renew = await runCli(['renew', '--config', world.config, '--force']);
      assert.equal(renew.code, 0, renew.stderr);
      assert.match(renew.stdout, /1 renewed, 0 still fresh, 0 failed/);
      assert.equal(world.issuer.stats().reuseDetected, 0);
      assert.equal(world.issuer.stats().revokedGrants, 0);
    });
  });
}

describe('close() with a refresh still in flight after the drain time', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  after(async () => world.close());

  it('closes the socket on time, and still saves the rotated refresh token when the issuer answers', async () => {
    const sock = join(world.dir, 'drain', 'agent.sock');
    const lines: string[] = [];
    const agent = createAgent({ socketPath: sock, drainMs: 50, log: (event) => lines.push(event) });
    await agent.start();
    const password = (await readFile(join(world.dir, 'vo.pw'), 'utf8')).split('\n')[0] as string;
    const added = await agentRequest(
      sock,
      {
        request: 'tw_add',
        account: 'vo',
        password,
        credential_file: join(world.state, 'accounts', 'vo.cred'),
        lock_file: join(world.state, 'locks', 'vo.lock'),
      },
      10_000,
    );
    assert.equal(added.status, 'success');
    world.issuer.setFault('slow');
    const faulted = world.issuer.stats().faultedRequests;
    const inFlight = agentRequest(
      sock,
      { request: 'access_token', account: 'vo', force_new_token: true },
      10_000,
    ).catch((err: unknown) => err);
    while (world.issuer.stats().faultedRequests === faulted) await new Promise((r) => setTimeout(r, 20));
    let socketGoneWhileWaiting = false;
    const closed = agent.close('test');
    // The socket goes after the drain time, while the issuer still holds the refresh.
    while (!lines.includes('waiting')) await new Promise((r) => setTimeout(r, 10));
    socketGoneWhileWaiting = !existsSync(sock);
    await closed;
    await inFlight;
    world.issuer.setFault('none');
    assert.ok(socketGoneWhileWaiting, 'the socket was removed before the refresh finished');
    assert.deepEqual(lines, ['start', 'account-added', 'stopping', 'waiting', 'stop']);
    assert.equal(await storedRefreshTokenState(world, 'vo'), 'live');
    assert.equal(world.issuer.stats().reuseDetected, 0);
  });
});
