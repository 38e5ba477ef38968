import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeToken } from '../../src/tokens/index.js';
import { startAgent, stopAgent } from '../helpers/agent.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { storedRefreshTokenState } from '../helpers/inflight.js';
import { collectSecrets } from '../helpers/secrets.js';
import {
  createWorld,
  createWorldWithAccount,
  refreshAccount,
  tokenSection,
  type World,
} from '../helpers/world.js';

describe('agent, add, token, list, remove', () => {
  let world: World;
  let agent: { child: ChildProcess; env: Record<string, string> };

  before(async () => {
    world = await createWorld();
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 't', 'vo', { scope: 'storage.read:/' })}`,
    );
    assert.equal((await world.setup('vo')).code, 0);
    agent = await startAgent(world);
    const add = await runCli(['add', 'vo', '--config', world.config], { env: agent.env });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /account vo loaded/);
  });

  after(async () => {
    await stopAgent(agent.child);
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI or agent output');
  });

  it('the socket is 0600 in a 0700 directory', async () => {
    const sock = agent.env.TOKENWARDEN_SOCK as string;
    assert.equal((await stat(sock)).mode & 0o777, 0o600);
    assert.equal((await stat(join(sock, '..'))).mode & 0o777, 0o700);
  });

  it('token serves the asked audience and scope, then from the cache', async () => {
    const before = world.issuer.stats().tokenRequests.refresh_token ?? 0;
    const a = await runCli(
      ['token', 'vo', '--aud', 'https://x.example https://y.example', '--scope', 'compute.read'],
      { env: agent.env, tokenOnStdout: true },
    );
    assert.equal(a.code, 0, a.stderr);
    const d = decodeToken(a.stdout);
    assert.deepEqual(d.audience.sort(), ['https://x.example', 'https://y.example']);
    assert.deepEqual(d.scope, ['compute.read']);
    const b = await runCli(
      ['token', 'vo', '--aud', 'https://y.example https://x.example', '--scope', 'compute.read'],
      { env: agent.env, tokenOnStdout: true },
    );
    assert.equal(b.stdout, a.stdout, 'same token from the cache');
    assert.equal((world.issuer.stats().tokenRequests.refresh_token ?? 0) - before, 1);
    const f = await runCli(
      ['token', 'vo', '--aud', 'https://x.example https://y.example', '--scope', 'compute.read', '--force'],
      { env: agent.env, tokenOnStdout: true },
    );
    assert.notEqual(f.stdout, a.stdout, '--force gets a new one');
  });

  it('--json and --env print the details', async () => {
    const j = await runCli(['token', 'vo', '--json'], { env: agent.env, tokenOnStdout: true });
    const reply = JSON.parse(j.stdout) as { access_token: string; issuer: string; expires_at: number };
    assert.equal(reply.issuer, world.issuer.url);
    assert.ok(reply.expires_at > Date.now() / 1000 + 60);
    const e = await runCli(['token', 'vo', '--env'], { env: agent.env, tokenOnStdout: true });
    assert.match(
      e.stdout,
      /^OIDC_AT=\S+; export OIDC_AT;\nOIDC_ISS=http\S+; export OIDC_ISS;\nOIDC_EXP=\d+; export OIDC_EXP;\n$/,
    );
  });

  it('50 concurrent token requests for one account and audience cause exactly one refresh', async () => {
    const before = world.issuer.stats().tokenRequests.refresh_token ?? 0;
    const runs = await Promise.all(
      Array.from({ length: 50 }, () =>
        runCli(['token', 'vo', '--aud', 'https://fifty.example'], { env: agent.env, tokenOnStdout: true }),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(runs.map((r) => r.stdout)).size, 1);
    assert.equal((world.issuer.stats().tokenRequests.refresh_token ?? 0) - before, 1);
  });

  it('renew and the agent on the same account never refresh at once', async () => {
    const work = [
      ...Array.from({ length: 5 }, () => runCli(['renew', '--config', world.config, '--force'])),
      ...Array.from({ length: 10 }, (_, i) =>
        runCli(['token', 'vo', '--aud', `https://r${i}.example`, '--force'], {
          env: agent.env,
          tokenOnStdout: true,
        }),
      ),
    ];
    for (const r of await Promise.all(work)) assert.equal(r.code, 0, r.stderr);
    assert.equal(world.issuer.stats().reuseDetected, 0);
    assert.equal(world.issuer.stats().revokedGrants, 0);
  });

  it('list and remove', async () => {
    const l = await runCli(['list', '--json'], { env: agent.env });
    assert.deepEqual(
      (JSON.parse(l.stdout) as Array<{ account: string }>).map((a) => a.account),
      ['vo'],
    );
    assert.equal((await runCli(['remove', 'vo'], { env: agent.env })).code, 0);
    const t = await runCli(['token', 'vo'], { env: agent.env, tokenOnStdout: true });
    assert.equal(t.code, 4);
    assert.match(t.stderr, /account vo is not loaded\n\s+run: tokenwarden add vo/);
    assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
  });

  it('errors say what to run', async () => {
    const none = await runCli(['token', 'vo'], { env: { TOKENWARDEN_SOCK: join(world.dir, 'nope.sock') } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /the agent is not running\n\s+start it with: eval "\$\(tokenwarden agent\)"/);
    const wrong = await runCli(['add', 'vo', '--pw-env', 'PW', '--config', world.config], {
      env: { ...agent.env, PW: 'wrong password' },
    });
    assert.equal(wrong.code, 4);
    assert.match(
      wrong.stderr,
      /cannot decrypt the credential for account vo: wrong password, or the file was altered/,
    );
    const unknown = await runCli(['token', 'nosuch'], { env: agent.env, tokenOnStdout: true });
    assert.equal(unknown.code, 4);
  });

  it('a malformed or oversized request gets a failure reply; an idle client blocks no one', async () => {
    const sock = agent.env.TOKENWARDEN_SOCK as string;
    const idle = connect(sock);
    await new Promise((r) => idle.once('connect', r));
    const send = (payload: string) =>
      new Promise<string>((resolve) => {
        const c = connect(sock);
        let out = '';
        c.on('data', (d) => {
          out += d;
        });
        c.on('close', () => resolve(out));
        c.on('error', () => resolve(out));
        c.on('connect', () => c.end(payload));
      });
    assert.match(await send('{"request": '), /"status":"failure"/);
    assert.match(await send(`{"request":"access_token","account":"${'x'.repeat(100_000)}"}`), /failure|^$/);
    assert.match(await send('{"request":"frobnicate"}'), /"status":"failure".*unknown request/);
    const ok = await runCli(['token', 'vo'], { env: agent.env, tokenOnStdout: true });
    assert.equal(ok.code, 0, ok.stderr);
    idle.destroy();
  });

  it('a second agent on a live socket is refused; the first keeps serving', async () => {
    const second = await runCli(['agent', '--foreground'], {
      env: { XDG_RUNTIME_DIR: agent.env.XDG_RUNTIME_DIR },
      timeoutMs: 15_000,
    });
    assert.equal(second.code, 2, second.stderr);
    assert.match(
      second.stderr,
      /an agent is already running on .*agent\.sock\n\s+stop it with: tokenwarden agent --kill/,
    );
    const ok = await runCli(['token', 'vo'], { env: agent.env, tokenOnStdout: true });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('add --lifetime unloads the account after that many seconds; bad values are refused', async () => {
    for (const bad of ['-5', 'abc', '1e12']) {
      const r = await runCli(['add', 'vo', `--lifetime=${bad}`, '--config', world.config], {
        env: agent.env,
      });
      assert.equal(r.code, 2, `--lifetime ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--lifetime "[^"]*": give a number of seconds/);
    }
    const add = await runCli(['add', 'vo', '--lifetime', '1', '--config', world.config], { env: agent.env });
    assert.equal(add.code, 0, add.stderr);
    const listed = JSON.parse((await runCli(['list', '--json'], { env: agent.env })).stdout) as {
      account: string;
      expires_at: number | null;
    }[];
    assert.ok((listed[0]?.expires_at ?? 0) > 0, 'a loaded account with an expiry');
    await new Promise((r) => setTimeout(r, 1500));
    const after = JSON.parse((await runCli(['list', '--json'], { env: agent.env })).stdout) as unknown[];
    assert.deepEqual(after, []);
    const gone = await runCli(['token', 'vo'], { env: agent.env, tokenOnStdout: true });
    assert.equal(gone.code, 4);
    assert.match(gone.stderr, /account vo is not loaded/);
    assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
  });

  it('the IPC takes audience and scope as a string or an array, and refuses other types', async () => {
    const ask = (request: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const c = connect(agent.env.TOKENWARDEN_SOCK as string);
        let out = '';
        c.on('data', (d) => {
          out += d;
        });
        c.on('close', () => resolve(JSON.parse(out) as Record<string, unknown>));
        c.on('error', reject);
        c.on('connect', () => c.end(JSON.stringify(request)));
      });
    const byArray = await ask({
      request: 'access_token',
      account: 'vo',
      audience: ['https://arr1.example', 'https://arr2.example'],
      scope: ['compute.read'],
    });
    assert.equal(byArray.status, 'success', String(byArray.error));
    const d = decodeToken(String(byArray.access_token));
    assert.deepEqual(d.audience.sort(), ['https://arr1.example', 'https://arr2.example']);
    assert.deepEqual(d.scope, ['compute.read']);
    const bad = await ask({ request: 'access_token', account: 'vo', audience: 5 });
    assert.equal(bad.status, 'failure');
    assert.match(String(bad.error), /audience must be a space-separated string or an array of strings/);
  });

  it('token refuses a deadline no timer can hold', async () => {
    const r = await runCli(['token', 'vo', '--timeout', '1e7'], { env: agent.env, tokenOnStdout: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--timeout "1e7": give a number of seconds, more than 0 and at most 2000000/);
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
  });

  it('--bearer-account keeps a fresh token at the WLCG path, written atomically', async () => {
    const file = join(world.dir, 'bt_u_test');
    const keeper = await startAgent(world, [
      '--socket',
      join(world.dir, 'run', 'keeper.sock'),
      '--bearer-account',
      'vo',
      '--bearer-file',
      file,
      '--bearer-aud',
      'https://bearer.example',
    ]);
    try {
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: keeper.env })).code, 0);
      let text = '';
      for (let i = 0; i < 50 && !text; i++) {
        text = await readFile(file, 'utf8').catch(() => '');
        if (!text) await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(decodeToken(text).audience, ['https://bearer.example']);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    } finally {
      await stopAgent(keeper.child);
    }
  });
});

describe('the bearer-file keeper rewrites the token before it runs out, atomically', () => {
  let world: World;
  before(async () => {
    // Six-second tokens, rewritten when fewer than four seconds are left: a rewrite about every 2 s.
    world = await createWorldWithAccount('vo', { accessTokenTtl: 6 });
  });
  after(async () => world.close());

  it('a reader polling the file sees only whole tokens, and a new one before the old expires', async () => {
    const file = join(world.dir, 'bt_u_keeper');
    const keeper = await startAgent(world, [
      '--bearer-account',
      'vo',
      '--bearer-file',
      file,
      '--bearer-min-valid',
      '4',
    ]);
    try {
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: keeper.env })).code, 0);
      const seen = new Set<string>();
      let reads = 0;
      const deadline = Date.now() + 9000;
      while (Date.now() < deadline && seen.size < 3) {
        const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT' && seen.size === 0) return undefined; // not written yet
          throw e;
        });
        if (text !== undefined) {
          reads++;
          assert.ok(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, 'one whole line');
          const exp = decodeToken(text).claims.exp as number;
          assert.ok(exp > Date.now() / 1000, 'never an expired token in the file');
          seen.add(text);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(seen.size >= 3, `rewritten before expiry (${seen.size} tokens over ${reads} reads)`);
    } finally {
      await stopAgent(keeper.child);
    }
  });
});

describe('agent killed with SIGKILL during refreshes', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  after(async () => world.close());

  it('after a restart and add, the account still refreshes', async (t) => {
    let inFlight = 0;
    for (let i = 0; i < 8; i++) {
      const agent = await startAgent(world);
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
      const storm = Array.from({ length: 6 }, (_, j) =>
        runCli(['token', 'vo', '--aud', `https://k${j}.example`, '--force'], {
          env: agent.env,
          tokenOnStdout: true,
        }),
      );
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 300));
      agent.child.kill('SIGKILL');
      await Promise.all(storm);
      const again = await startAgent(world);
      try {
        assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: again.env })).code, 0);
        if ((await storedRefreshTokenState(world, 'vo')) === 'lost-in-flight') {
          inFlight++;
          assert.equal((await world.setup('vo', undefined, ['--force'])).code, 0);
          assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: again.env })).code, 0);
        }
        const refreshed = await runCli(['token', 'vo', '--force'], { env: again.env, tokenOnStdout: true });
        assert.equal(refreshed.code, 0, refreshed.stderr);
      } finally {
        await stopAgent(again.child);
      }
    }
    t.diagnostic(`kills inside the issuer-answered-but-not-yet-stored window: ${inFlight} of 8`);
  });
});

describe('the detached agent: start, reuse, --kill, and a failed start that says why', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI or agent output');
  });

  it('eval-able lines, the same agent when asked again, and --kill stops it', async () => {
    const run = join(world.dir, 'detached');
    await mkdir(run, { recursive: true, mode: 0o700 });
    const env = { XDG_RUNTIME_DIR: run, TOKENWARDEN_SOCK: undefined };
    const first = await runCli(['agent'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      /^TOKENWARDEN_SOCK=\S+; export TOKENWARDEN_SOCK;\nOIDC_SOCK=\S+; export OIDC_SOCK;\n/,
    );
    const pid = Number(/TOKENWARDEN_PID=(\d+);/.exec(first.stdout)?.[1]);
    assert.ok(pid > 0);
    try {
      const again = await runCli(['agent'], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(
        Number(/TOKENWARDEN_PID=(\d+);/.exec(again.stdout)?.[1]),
        pid,
        'the running agent is reused',
      );
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env })).code, 0);
      const t = await runCli(['token', 'vo'], { env, tokenOnStdout: true });
      assert.equal(t.code, 0, t.stderr);
      const kill = await runCli(['agent', '--kill'], { env });
      assert.equal(kill.code, 0, kill.stderr);
      assert.match(kill.stdout, /unset TOKENWARDEN_SOCK;/);
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 50));
        } catch {
          alive = false;
        }
      }
      assert.equal(alive, false, 'the agent exited after --kill');
      const after = await runCli(['token', 'vo'], { env, tokenOnStdout: true });
      assert.equal(after.code, 2);
      assert.match(after.stderr, /the agent is not running/);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
  });

  it('without XDG_RUNTIME_DIR: a new private directory under TMPDIR, removed when the agent stops', async () => {
    const tmp = join(world.dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const env = { XDG_RUNTIME_DIR: undefined, TOKENWARDEN_SOCK: undefined, TMPDIR: tmp };
    const start = await runCli(['agent'], { env });
    assert.equal(start.code, 0, start.stderr);
    const sock = /TOKENWARDEN_SOCK=([^;]+);/.exec(start.stdout)?.[1] as string;
    assert.match(sock, new RegExp(`^${tmp}/tokenwarden-[A-Za-z0-9]{6}/agent\\.sock$`));
    assert.equal((await stat(join(sock, '..'))).mode & 0o777, 0o700);
    const kill = await runCli(['agent', '--kill'], { env: { ...env, TOKENWARDEN_SOCK: sock } });
    assert.equal(kill.code, 0, kill.stderr);
    let left = ['?'];
    for (let i = 0; i < 100 && left.length > 0; i++) {
      left = await readdir(tmp);
      if (left.length > 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(left, [], 'the private directory is gone');
  });

  it('a socket directory others can enter is refused before anything starts', async () => {
    const open = join(world.dir, 'open');
    await mkdir(join(open, 'tokenwarden'), { recursive: true, mode: 0o755 });
    await chmod(join(open, 'tokenwarden'), 0o755);
    const r = await runCli(['agent'], { env: { XDG_RUNTIME_DIR: open, TOKENWARDEN_SOCK: undefined } });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /socket directory .*tokenwarden must be yours and mode 0700\n\s+run: chmod 700/);
  });

  it('when the detached agent fails, its own words are shown', async () => {
    // Checked by the agent itself, in the detached child: a file that is not a socket is never removed.
    const dir = join(world.dir, 'notsock');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'agent.sock'), 'precious\n');
    const r = await runCli(['agent', '--socket', join(dir, 'agent.sock')], {
      env: { TOKENWARDEN_SOCK: undefined },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the agent did not start \(socket .*agent\.sock\)\n\s+it said:\n\s+tokenwarden: refusing to start: .*agent\.sock exists and is not a socket/,
    );
    assert.equal(await readFile(join(dir, 'agent.sock'), 'utf8'), 'precious\n');
  });
});

describe('the agent after the issuer revoked the grant', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  after(async () => world.close());

  it('token says the account needs a new login and what to run, and does not retry the dead grant', async () => {
    const agent = await startAgent(world);
    try {
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env: agent.env })).code, 0);
      assert.equal(
        (await runCli(['token', 'vo', '--force'], { env: agent.env, tokenOnStdout: true })).code,
        0,
      );
      await world.issuer.revokeAllGrants();
      const dead = await runCli(['token', 'vo', '--force'], { env: agent.env, tokenOnStdout: true });
      assert.equal(dead.code, 4, dead.stderr);
      assert.match(dead.stderr, /account vo: issuer answered invalid_grant/);
      // The commands carry the --config that `add` used.
      assert.match(
        dead.stderr,
        /run: tokenwarden setup vo --config (\S+) --issuer \S+, then: tokenwarden add vo --config \1\n/,
      );
      const before = world.issuer.stats().tokenRequests.refresh_token ?? 0;
      const again = await runCli(['token', 'vo', '--force'], { env: agent.env, tokenOnStdout: true });
      assert.equal(again.code, 4);
      assert.match(again.stderr, /account vo needs a new login/);
      assert.equal(
        world.issuer.stats().tokenRequests.refresh_token ?? 0,
        before,
        'no request with a dead token',
      );
    } finally {
      await stopAgent(agent.child);
    }
  });
});
