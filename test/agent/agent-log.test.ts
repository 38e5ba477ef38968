import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatLogLine, openFileLog } from '../../src/agent/index.js';
import { findLeaks, runCli, transcript } from '../helpers/cli.js';
import { collectSecrets } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';
import { createWorldWithAccount, type World } from '../helpers/world.js';

describe('agent.log of the background agent', () => {
  let world: World;
  before(async () => {
    world = await createWorldWithAccount('vo');
  });
  after(async () => {
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output or agent.log');
  });

  it('records start, accounts, failures, needs-login and stop; mode 0600; no secret', async () => {
    const run = join(world.dir, 'logrun');
    await mkdir(run, { recursive: true, mode: 0o700 });
    const env = { XDG_RUNTIME_DIR: run, TOKENWARDEN_SOCK: undefined };
    const start = await runCli(['agent'], { env });
    assert.equal(start.code, 0, start.stderr);
    const sock = /TOKENWARDEN_SOCK=([^;]+);/.exec(start.stdout)?.[1] as string;
    const pid = Number(/TOKENWARDEN_PID=(\d+);/.exec(start.stdout)?.[1]);
    const logPath = join(run, 'tokenwarden', 'agent.log');
    try {
      const cli = (args: string[]) => runCli(args, { env, tokenOnStdout: args[0] === 'token' });
      assert.equal((await cli(['add', 'vo', '--config', world.config])).code, 0);
      assert.equal((await cli(['token', 'vo', '--force'])).code, 0);
      world.issuer.setFault('error500');
      assert.equal((await cli(['token', 'vo', '--force'])).code, 5);
      world.issuer.setFault('none');
      assert.equal((await cli(['remove', 'vo'])).code, 0);
      assert.equal((await cli(['add', 'vo', '--lifetime', '1', '--config', world.config])).code, 0);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await cli(['list'])).code, 0);
      assert.equal((await cli(['add', 'vo', '--config', world.config])).code, 0);
      await world.issuer.revokeAllGrants();
      assert.equal((await cli(['token', 'vo', '--force'])).code, 4);
      assert.equal((await cli(['agent', '--kill'])).code, 0);
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 50));
        } catch {
          break;
        }
      }
      const log = await readFile(logPath, 'utf8');
      transcript.push(log);
      assert.equal((await stat(logPath)).mode & 0o777, 0o600);
      const ts = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
      const lines = [
        `${ts} start socket=${sock} pid=${pid}`,
        `${ts} account-added account=vo issuer=${world.issuer.url} credential=\\S+ lifetime=unlimited`,
        `${ts} refresh-failed account=vo code=ISSUER_RESPONSE message=".*"`,
        `${ts} account-removed account=vo`,
        `${ts} account-added account=vo issuer=\\S+ credential=\\S+ lifetime=1s`,
        `${ts} account-expired account=vo lifetime=1s`,
        `${ts} needs-login account=vo code=NEEDS_LOGIN message=".*invalid_grant.*"`,
        `${ts} stopping reason="agent --kill" in_flight=0`,
        `${ts} stop reason="agent --kill"`,
      ];
      let at = 0;
      for (const line of lines) {
        const m = new RegExp(`^${line}$`, 'm').exec(log.slice(at));
        assert.ok(m, `agent.log has, in order, /${line}/; it holds:\n${log}`);
        at += m.index + m[0].length;
      }
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Stopped by --kill, as it should be.
      }
    }
  });
});

describe('the agent log file', () => {
  it('is rotated to PATH.1 before it grows past its cap; both 0600', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'agent.log');
      const log = openFileLog(path, 300);
      for (let i = 0; i < 40; i++) log.write(formatLogLine(0, 'event', { n: i }));
      log.close();
      const now = await stat(path);
      const old = await stat(`${path}.1`);
      assert.ok(now.size <= 300 && old.size <= 300, `${now.size} and ${old.size} bytes`);
      assert.equal(now.mode & 0o777, 0o600);
      assert.equal(old.mode & 0o777, 0o600);
      assert.match(await readFile(path, 'utf8'), /event n=39\n$/);
    } finally {
      await cleanup();
    }
  });

  it('quotes values with spaces or quotes, so one event is one line; drops JWT-shaped text', () => {
    const line = formatLogLine(0, 'refresh-failed', {
      account: 'vo',
      message: 'issuer said "no"\nsecond line eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln',
      skipped: undefined,
    });
    assert.equal(
      line,
      '1970-01-01T00:00:00.000Z refresh-failed account=vo message="issuer said \\"no\\"\\nsecond line [REDACTED-JWT]"\n',
    );
  });
});
