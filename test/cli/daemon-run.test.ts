import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { decodeToken } from '../../src/tokens/index.js';
import type { StatusSnapshot } from '../../src/web/status-model.js';
import { type RunningAgent, startAgent, stopAgent } from '../helpers/agent.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { type DaemonProcess, startDaemon } from '../helpers/daemon.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

/** Short-lived tokens, so the daemon goes through several lifetimes within the test. */
const TTL = 12;
const TOKENS = ['a', 'b'];

/**
 * The daemon against the test issuer with tokens living 12 s: every file stays a valid, unexpired JWT
 * over several lifetimes; an outage leaves the files alone and ends with a successful first attempt;
 * `renew` and the agent working on the same account meanwhile trip no reuse detection, and no file is
 * ever replaced by a token expiring sooner.
 */
describe('daemon keeping short-lived tokens', () => {
  let world: World;
  let daemon: DaemonProcess;
  /** The exp of each file each time it was looked at, to check it never goes back. */
  const seen = new Map<string, number[]>();
  let watching = true;
  let watcher: Promise<void>;

  const path = (name: string) => join(world.tokens, `${name}.token`);
  async function look(name: string): Promise<{ exp: number } | undefined> {
    let text: string;
    try {
      text = await readFile(path(name), 'utf8');
    } catch {
      return undefined;
    }
    const exp = decodeToken(text).claims.exp as number;
    const list = seen.get(name) ?? [];
    list.push(exp);
    seen.set(name, list);
    return { exp };
  }

  before(async () => {
    world = await createWorldWithAccount('vo', { accessTokenTtl: TTL });
    await world.writeConfig(
      `${refreshAccount(world, 'vo')}${tokenSection(world, 'a', 'vo', { scope: 'storage.read:/', min_lifetime: 2 })}${tokenSection(world, 'b', 'vo', { scope: 'compute.read', audience: 'https://b.example', min_lifetime: 2 })}`,
    );
    daemon = startDaemon(world, ['--retry-base', '1', '--retry-max', '2']);
    await daemon.waitFor(/renewal\.succeeded token=a account=vo expires_in=\d+ next_renewal_in=\d+/);
    await daemon.waitFor(/renewal\.succeeded token=b account=vo /);
    // Every file read all along must decode (never empty, never half written).
    watcher = (async () => {
      while (watching) {
        for (const t of TOKENS) await look(t);
        await sleep(100);
      }
    })();
  });
  after(async () => {
    watching = false;
    await watcher;
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    const leaks = findLeaks(await collectSecrets(world));
    await world.close();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('keeps every file a valid, unexpired token over several lifetimes', async () => {
    const start = Date.now();
    while (Date.now() - start < 3 * TTL * 1000) {
      for (const t of TOKENS) {
        const now = Math.floor(Date.now() / 1000);
        const current = await look(t);
        assert.ok(current !== undefined, `${t} is there`);
        assert.ok(current.exp > now, `${t} has not expired (exp ${current.exp}, now ${now})`);
      }
      await sleep(1000);
    }
    const renewed = daemon.stderr().match(/renewal\.succeeded token=a /g)?.length ?? 0;
    assert.ok(renewed >= 4, `a was renewed ${renewed} times in three lifetimes`);
    assert.doesNotMatch(daemon.stderr(), /renewal\.failed /);
  });

  it('rides out an issuer outage and recovers at the first attempt after it', async () => {
    const mark = daemon.stderr().length;
    world.issuer.setFault('error500');
    try {
      await rideOutOutage(mark);
    } finally {
      world.issuer.setFault('none');
    }
  });

  /**
   * The outage part of the test above. A renewal sent just before the fault was switched on may still
   * succeed and write its file, so the files are taken as they stand once each token has logged a
   * failure: from then on every attempt meets the fault (one token's renewals never overlap).
   */
  async function rideOutOutage(mark: number): Promise<void> {
    await daemon.waitFor(
      /renewal\.failed token=a account=vo [^\n]*HTTP 500[^\n]* attempt=\d+ retry_in=\d+\n/,
      mark,
    );
    await daemon.waitFor(/renewal\.failed token=b account=vo [^\n]*HTTP 500/, mark);
    const before = Object.fromEntries(await Promise.all(TOKENS.map(async (t) => [t, await look(t)])));
    await sleep(5000);
    // The tokens on disk were left alone while the issuer failed.
    for (const t of TOKENS)
      assert.deepEqual(await look(t), before[t], `${t} was rewritten during the outage`);
    // The page's snapshot and /metrics show the outage while it lasts.
    const url = await daemon.url();
    const during = (await (await fetch(new URL('api/status', url))).json()) as StatusSnapshot;
    const vo = during.groups.find((g) => g.name === 'vo');
    assert.ok(vo?.issuerFailingSince !== undefined, 'the account says since when its issuer fails');
    for (const t of TOKENS) {
      const row = during.rows.find((r) => r.id === t);
      assert.equal(row?.state, 'failing', `${t} shown failing`);
      assert.ok((row?.failures ?? 0) >= 1, `${t}: failed attempts counted`);
      assert.equal(row?.expiresAt, before[t]?.exp, `${t}: the token on disk is what is shown`);
    }
    const metrics = parsePrometheusTextFormat(await (await fetch(new URL('metrics', url))).text()) as Array<{
      name: string;
      metrics: Array<{ value?: string; labels?: Record<string, string> }>;
    }>;
    const failing = metrics
      .find((f) => f.name === 'tokenwarden_credentials')
      ?.metrics.find((m) => m.labels?.state === 'failing');
    assert.equal(Number(failing?.value), TOKENS.length);
    const failuresTotal = metrics
      .find((f) => f.name === 'tokenwarden_renewal_failures_total')
      ?.metrics.filter((m) => m.labels?.group === 'vo')
      .reduce((n, m) => n + Number(m.value), 0);
    assert.ok((failuresTotal ?? 0) >= 2, `renewal failures counted: ${failuresTotal}`);
    const errors = { ...world.issuer.stats().tokenErrors };
    world.issuer.setFault('none');
    const back = daemon.stderr().length;
    await daemon.waitFor(/renewal\.succeeded token=a /, back);
    await daemon.waitFor(/renewal\.succeeded token=b /, back);
    // The first attempt after the issuer came back worked: no error at the issuer since, and no failure
    // logged after the first success. (A 500 answered just before the switch may still be on its way
    // through the pipe when `back` is taken: the issuer's count, taken before the switch, is exact.)
    assert.deepEqual(world.issuer.stats().tokenErrors, errors);
    const since = daemon.stderr().slice(back);
    assert.doesNotMatch(since.slice(since.search(/renewal\.succeeded /)), /renewal\.failed /);
    const failures =
      daemon
        .stderr()
        .slice(mark, back)
        .match(/renewal\.failed [^\n]*attempt=\d+/g)?.length ?? 0;
    assert.ok(failures >= 2, `${failures} failed attempts logged during the outage`);
  }

  it('shares the account with renew and the agent: no reuse detection, no file going back', async () => {
    let agent: RunningAgent | undefined;
    try {
      agent = await startAgent(world);
      const env = agent.env;
      assert.equal((await runCli(['add', 'vo', '--config', world.config], { env })).code, 0);
      const work = [
        ...Array.from({ length: 3 }, () => runCli(['renew', '--config', world.config, '--force'])),
        ...Array.from({ length: 4 }, (_, i) =>
          runCli(['token', 'vo', '--aud', `https://r${i}.example`, '--time', '5', '--force'], {
            env,
            tokenOnStdout: true,
          }),
        ),
      ];
      for (const r of await Promise.all(work)) assert.equal(r.code, 0, r.stderr);
      // Let the daemon renew again on its own after them.
      const mark = daemon.stderr().length;
      await daemon.waitFor(/renewal\.succeeded token=a /, mark);
    } finally {
      if (agent) await stopAgent(agent.child);
    }
    const stats = world.issuer.stats();
    assert.equal(stats.reuseDetected, 0);
    assert.equal(stats.revokedGrants, 0);
    assert.equal(stats.tokenErrors.invalid_grant ?? 0, 0);
    for (const t of TOKENS) {
      const exps = seen.get(t) ?? [];
      assert.ok(exps.length > 20);
      for (let i = 1; i < exps.length; i++) {
        assert.ok(
          (exps[i] as number) >= (exps[i - 1] as number),
          `${t} went back from ${exps[i - 1]} to ${exps[i]}`,
        );
      }
    }
  });
});
