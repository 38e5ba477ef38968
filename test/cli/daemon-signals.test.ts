import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLeaks, runCli } from '../helpers/cli.js';
import { type DaemonProcess, startDaemon, tokenExp } from '../helpers/daemon.js';
import { storedRefreshTokenState } from '../helpers/inflight.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

describe('daemon: SIGHUP and SIGTERM', () => {
  let world: World;
  let daemon: DaemonProcess | undefined;

  beforeEach(async () => {
    world = await createWorldWithAccount('vo', { accessTokenTtl: 600 });
  });
  afterEach(async () => {
    if (daemon && daemon.child.exitCode === null) {
      daemon.child.kill('SIGKILL');
      await daemon.exited;
    }
    daemon = undefined;
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('SIGHUP with a good config starts new tokens; with a bad one keeps the old running and says why', async () => {
    const account = refreshAccount(world, 'vo');
    const a = tokenSection(world, 'a', 'vo', { scope: 'storage.read:/', min_lifetime: 60 });
    await world.writeConfig(`${account}${a}`);
    const logFile = join(world.state, 'daemon.log');
    daemon = startDaemon(world, ['--log-file', logFile]);
    await daemon.waitFor(/renewal\.succeeded token=a account=vo /);
    const b = tokenSection(world, 'b', 'vo', { scope: 'compute.read', min_lifetime: 60 });
    await world.writeConfig(`${account}${a}${b}`);
    let mark = daemon.stderr().length;
    daemon.child.kill('SIGHUP');
    await daemon.waitFor(/daemon\.reloaded config=\S+ tokens=2 added=1 removed=0 changed=0\n/, mark);
    await daemon.waitFor(/renewal\.succeeded token=b account=vo /, mark);
    assert.ok((await tokenExp(join(world.tokens, 'b.token'))) > Date.now() / 1000);

    // A typo in a new section: refused with renew's message, the old configuration keeps running.
    await world.writeConfig(`${account}${a}${b}[token c]\naccount = vo\n`);
    mark = daemon.stderr().length;
    daemon.child.kill('SIGHUP');
    await daemon.waitFor(
      /daemon\.reload-refused [^\n]*note="new configuration refused; the previous one keeps running"/,
      mark,
    );
    const said = daemon.stderr().slice(mark);
    assert.match(
      said,
      /daemon\.reload-refused [^\n]*config\.ini line \d+: Config for \[token c\]: [^\n]*token_path/,
    );
    const renew = await runCli(['renew', '--config', world.config]);
    assert.match(renew.stderr, /config\.ini line \d+: Config for \[token c\]: .*token_path/);
    assert.equal(daemon.child.exitCode, null, 'the daemon is still running');

    // Unreadable config: refused too.
    await world.writeConfig('[account vo\n');
    mark = daemon.stderr().length;
    daemon.child.kill('SIGHUP');
    await daemon.waitFor(
      /daemon\.reload-refused [^\n]*code=CONFIG_INVALID [^\n]*new configuration refused/,
      mark,
    );

    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(daemon.stderr(), /daemon\.stopped reason=SIGTERM\n/);
    // --log-file holds the very lines stderr had, in a file only its owner reads.
    assert.equal(await readFile(logFile, 'utf8'), daemon.stderr());
    assert.equal((await stat(logFile)).mode & 0o777, 0o600);
  });

  it('SIGTERM while the issuer holds a refresh: finishes and saves it, exits 0, nothing lost', async () => {
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'a', 'vo', { scope: 'storage.read:/', min_lifetime: 60 })}`,
    );
    const credential = join(world.state, 'accounts', 'vo.cred');
    const before = (await stat(credential)).mtimeMs;
    world.issuer.setFault('slow');
    const faulted = world.issuer.stats().faultedRequests;
    daemon = startDaemon(world);
    while (world.issuer.stats().faultedRequests === faulted && daemon.child.exitCode === null)
      await sleep(20);
    daemon.child.kill('SIGTERM');
    await daemon.waitFor(
      /daemon\.stopping reason=SIGTERM note="finishing the refresh in flight, then exiting"/,
    );
    // A second signal while the refresh is still held does not cut it short.
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    world.issuer.setFault('none');
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(
      daemon.stderr(),
      /daemon\.stop-repeated reason=SIGTERM note="still finishing the refresh in flight"/,
    );
    // The held refresh was finished: token written, rotated refresh token saved.
    assert.ok((await tokenExp(join(world.tokens, 'a.token'))) > Date.now() / 1000);
    assert.ok((await stat(credential)).mtimeMs > before);
    assert.equal(await storedRefreshTokenState(world, 'vo'), 'live');
    const renew = await runCli(['renew', '--force', '--config', world.config]);
    assert.equal(renew.code, 0, renew.stderr);
    assert.equal(world.issuer.stats().reuseDetected, 0);
    assert.equal(world.issuer.stats().revokedGrants, 0);
  });
});
