import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseIni, resolveRenewerConfig } from '../../src/config/index.js';
import type { RefreshTokenNews } from '../../src/credentials/index.js';
import { TokenwardenError } from '../../src/errors.js';
import { createDaemon, type Daemon, type DaemonEvent, type DaemonOptions } from '../../src/renewal/daemon.js';
import { MAX_TIMER_MS } from '../../src/renewal/daemon-alarm.js';
import type { RenewOptions, RenewResult, TokenOutcome } from '../../src/renewal/renew.js';
import type { CredentialStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';

/** A virtual clock with its own timers: time moves only when the test says so. */
class VirtualTime {
  now = Date.parse('2026-03-01T00:00:00Z');
  private seq = 0;
  private readonly queue = new Map<number, { at: number; fn: () => void }>();
  /** Every delay asked for (ms), to check that none overflows Node's timers. */
  readonly delays: number[] = [];
  clock = () => this.now;
  timers = {
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++this.seq;
      this.delays.push(ms);
      this.queue.set(id, { at: this.now + ms, fn });
      return id;
    },
    clearTimeout: (h: unknown) => {
      this.queue.delete(h as number);
    },
  };
  /** Fires every timer due within `ms`, in order, letting the daemon finish what each one started. */
  async advance(ms: number, daemon: Daemon): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.queue) if (!next || entry[1].at < next[1].at) next = entry;
      if (!next || next[1].at > end) break;
      this.queue.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].fn();
      await daemon.idle();
    }
    this.now = end;
  }
  get seconds() {
    return this.now / 1000;
  }
}

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2ln`;
}

const noStore: CredentialStore = {
  load: async () => undefined,
  save: async () => {},
  withLock: async (_n: string, fn: () => Promise<unknown>) => fn(),
  close: async () => {},
} as unknown as CredentialStore;

/**
 * A stand-in for renewTokens that behaves like an issuer the test controls: 'up' writes a fresh token
 * (iat now, exp now + ttl) for each selected token; otherwise each fails with the error given.
 */
class FakeIssuer {
  mode: 'up' | TokenwardenError = 'up';
  ttl = 3600;
  /** What each renewal's refresh grant says of the refresh token (none: as a client-credentials grant). */
  refreshToken: RefreshTokenNews | undefined;
  readonly calls: Array<{ at: number; only: string[]; force: boolean; account: string }> = [];
  gate: Promise<void> | undefined;
  stopSeen = false;
  constructor(private readonly time: VirtualTime) {}
  renew = async (o: RenewOptions): Promise<RenewResult> => {
    const only = [...(o.only ?? [])];
    const tokens = o.config.tokens.filter((t) => only.includes(t.name));
    this.calls.push({
      at: this.time.seconds,
      only,
      force: o.force === true,
      account: tokens[0]?.account ?? '',
    });
    if (this.gate) await this.gate;
    this.stopSeen = o.stop?.aborted === true;
    const outcomes: TokenOutcome[] = [];
    for (const t of tokens) {
      const base = { token: t.name, account: t.account, path: t.tokenPath };
      if (this.mode === 'up') {
        const iat = Math.floor(this.time.seconds);
        await writeFile(t.tokenPath, jwt({ iat, exp: iat + this.ttl }));
        const news = this.refreshToken;
        outcomes.push({
          ...base,
          result: 'renewed',
          expiresAt: iat + this.ttl,
          ...(news ? { refreshTokenNews: news } : {}),
        });
      } else outcomes.push({ ...base, result: 'failed', error: this.mode });
    }
    return { outcomes, accounts: [] };
  };
}

describe('daemon scheduling (virtual time)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let time: VirtualTime;
  let issuer: FakeIssuer;
  let daemon: Daemon | undefined;
  let events: DaemonEvent[];
  let configText: string;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    time = new VirtualTime();
    issuer = new FakeIssuer(time);
    events = [];
  });
  afterEach(async () => {
    await daemon?.close();
    daemon = undefined;
    await cleanup();
  });

  function accountsAndTokens(accounts: number, perAccount: number, extra = ''): string {
    let text = `[DEFAULT]\nstate_dir = ${join(dir, 'state')}\n\n`;
    for (let a = 0; a < accounts; a++) {
      text += `[account a${a}]\npassword_file = ${join(dir, `a${a}.pw`)}\nissuer = https://issuer.example\n\n`;
      for (let t = 0; t < perAccount; t++) {
        text += `[token a${a}t${t}]\naccount = a${a}\ntoken_path = ${join(dir, `a${a}t${t}.token`)}\nmin_lifetime = 60\n${extra}\n`;
      }
    }
    return text;
  }

  function load(): DaemonOptions['load'] {
    return async () => {
      const file = join(dir, 'config.ini');
      const config = resolveRenewerConfig(
        parseIni(configText, file),
        { file, env: {}, uid: process.getuid?.() ?? 1000, home: dir },
        { collect: true },
      );
      return { config, store: noStore, clientSecret: async () => assert.fail('no client secret here') };
    };
  }

  /** A daemon on the virtual time and the fake issuer, not started. */
  function create(extra: Partial<DaemonOptions> = {}): Daemon {
    daemon = createDaemon({
      load: load(),
      clock: time.clock,
      timers: time.timers,
      rand: () => 1,
      log: (e) => events.push(e),
      renew: issuer.renew,
      jitterSeconds: 0,
      ...extra,
    });
    return daemon;
  }

  function start(extra: Partial<DaemonOptions> = {}): Promise<void> {
    const started = create(extra);
    return started.start().then(() => time.advance(0, started));
  }

  const d = () => daemon as Daemon;
  const row = (id: string) =>
    d()
      .snapshot()
      .rows.find((r) => r.id === id);

  it('renews a missing token at once, then at max(exp - min_lifetime, iat + half its life)', async () => {
    configText = accountsAndTokens(1, 1);
    await start();
    await d().idle();
    assert.equal(issuer.calls.length, 1);
    const t0 = issuer.calls[0]?.at ?? 0;
    assert.equal(row('a0t0')?.state, 'ok');
    // A one-hour token with min_lifetime 60: renewed at exp - 60.
    assert.equal(row('a0t0')?.nextRenewalAt, Math.floor(t0) + 3600 - 60);
    await time.advance(3539_000, d());
    assert.equal(issuer.calls.length, 1);
    await time.advance(1_000, d());
    assert.equal(issuer.calls.length, 2);
    // A 100 s token with min_lifetime 60: half-way (50 s), not at exp - 60 (40 s).
    issuer.ttl = 100;
    await time.advance(3540_000, d());
    const n = issuer.calls.length;
    await time.advance(50_000, d());
    assert.equal(issuer.calls.length, n + 1);
    // Later than min_lifetime alone would say: nothing to force.
    assert.equal(issuer.calls.at(-1)?.force, false);
  });

  it("keeps each account's refresh token expiry from its renewals, and logs it once when it comes within 7 days", async () => {
    const DAY = 24 * 3600;
    configText = accountsAndTokens(1, 1);
    const t0 = Math.floor(time.seconds);
    const group = () =>
      d()
        .snapshot()
        .groups.find((g) => g.name === 'a0');
    const expiring = () => events.filter((e) => e.type === 'refresh-token-expiring');
    const warned = () =>
      d()
        .snapshot()
        .warnings.some((w) => w.kind === 'refresh-token-expiring' && w.group === 'a0');
    issuer.refreshToken = { expiresAt: t0 + 3 * DAY, source: 'response', rotated: true };
    await start();
    assert.equal(group()?.refreshTokenExpiresAt, t0 + 3 * DAY);
    assert.ok(warned());
    assert.deepEqual(expiring(), [
      { type: 'refresh-token-expiring', account: 'a0', expiresAt: t0 + 3 * DAY },
    ]);
    // Renewed again, told the same: the warning stays on the page, the log says nothing more.
    await time.advance(3600_000, d());
    assert.equal(issuer.calls.length, 2);
    assert.equal(expiring().length, 1);
    // An opaque token kept as it was, by an issuer that says nothing: what was known still holds.
    issuer.refreshToken = { expiresAt: undefined, source: 'none', rotated: false };
    await time.advance(3600_000, d());
    assert.equal(group()?.refreshTokenExpiresAt, t0 + 3 * DAY);
    // Rotated into a token that says nothing: nothing is known any more, and nothing is warned of.
    issuer.refreshToken = { expiresAt: undefined, source: 'none', rotated: true };
    await time.advance(3600_000, d());
    assert.equal(group()?.refreshTokenExpiresAt, undefined);
    assert.equal(warned(), false);
    // A new login far from expiry, then one near it again: a second episode, logged again.
    issuer.refreshToken = { expiresAt: t0 + 30 * DAY, source: 'jwt', rotated: true };
    await time.advance(3600_000, d());
    assert.equal(group()?.refreshTokenExpiresAt, t0 + 30 * DAY);
    assert.equal(warned(), false);
    issuer.refreshToken = { expiresAt: t0 + 2 * DAY, source: 'jwt', rotated: true };
    await time.advance(3600_000, d());
    assert.equal(expiring().length, 2);
    // A renewal without a refresh grant (fresh token, client credentials) changes nothing.
    issuer.refreshToken = undefined;
    await time.advance(3600_000, d());
    assert.equal(group()?.refreshTokenExpiresAt, t0 + 2 * DAY);
  });

  it('backs off while the issuer is down, honours Retry-After, and recovers on the next attempt', async () => {
    configText = accountsAndTokens(1, 2);
    issuer.mode = new TokenwardenError('NETWORK', 'refresh: cannot reach the issuer (ECONNREFUSED)');
    await start({ backoffBaseSeconds: 10, backoffCapSeconds: 300 });
    await time.advance(3000_000, d());
    const gaps = issuer.calls.slice(1).map((c, i) => c.at - (issuer.calls[i]?.at ?? 0));
    // rand() = 1: the full-jitter bound itself, doubling up to the cap.
    assert.deepEqual(gaps.slice(0, 7), [10, 20, 40, 80, 160, 300, 300]);
    // Both tokens of the account go together, one call per attempt.
    assert.ok(issuer.calls.every((c) => c.only.length === 2));
    const r = row('a0t0');
    assert.equal(r?.state, 'failing');
    assert.equal(r?.lastError?.code, 'NETWORK');
    assert.ok((r?.failures ?? 0) >= 7);
    const group = d()
      .snapshot()
      .groups.find((g) => g.name === 'a0');
    assert.equal(group?.issuerFailingSince, Math.floor(issuer.calls[0]?.at ?? 0));

    // A 429 asking for 1000 s is waited out, above the cap.
    issuer.mode = new TokenwardenError('ISSUER_RESPONSE', 'HTTP 429', {
      httpStatus: 429,
      retryAfterSeconds: 1000,
    });
    const n = issuer.calls.length;
    await time.advance(300_000, d());
    const limited = issuer.calls[n]?.at ?? 0;
    assert.equal(issuer.calls.length, n + 1);
    await time.advance((limited + 999 - time.seconds) * 1000, d());
    assert.equal(issuer.calls.length, n + 1, 'retried before Retry-After');
    issuer.mode = 'up';
    // Then spread after it by the account's jitter (rand() = 1: the backoff bound, 300 s here).
    await time.advance(300_000, d());
    assert.equal(issuer.calls.length, n + 1, 'every client told 1000 s came back at 1000 s');
    await time.advance(1_000, d());
    assert.equal(issuer.calls.length, n + 2);
    assert.equal(issuer.calls[n + 1]?.at, limited + 1300);
    assert.equal(row('a0t0')?.state, 'ok');
    assert.equal(row('a0t0')?.lastError, undefined);
    assert.equal(row('a0t0')?.failures, undefined);
    assert.equal(d().snapshot().groups[0]?.issuerFailingSince, undefined);
  });

  it('spreads the recoveries of many accounts after an outage', async () => {
    configText = accountsAndTokens(60, 1);
    issuer.mode = new TokenwardenError('TIMEOUT', 'no answer');
    let seed = 42;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    await start({ rand, backoffBaseSeconds: 10, backoffCapSeconds: 600 });
    await time.advance(3600_000, d());
    issuer.mode = 'up';
    const back = time.seconds;
    await time.advance(700_000, d());
    const firstOk = new Map<string, number>();
    for (const c of issuer.calls) if (c.at >= back && !firstOk.has(c.account)) firstOk.set(c.account, c.at);
    assert.equal(firstOk.size, 60, 'every account recovered within the cap');
    const perMinute = new Map<number, number>();
    for (const at of firstOk.values()) {
      const m = Math.floor((at - back) / 60);
      perMinute.set(m, (perMinute.get(m) ?? 0) + 1);
    }
    // Spread over the backoff window, not a burst: no minute takes more than a third of them.
    assert.ok(Math.max(...perMinute.values()) <= 20, JSON.stringify([...perMinute]));
    assert.ok(perMinute.size >= 5, JSON.stringify([...perMinute]));
  });

  it('keeps the old schedule when a reload brings a bad config, and stops removed tokens', async () => {
    configText = accountsAndTokens(1, 2);
    await start();
    const before = d()
      .snapshot()
      .rows.map((r) => [r.id, r.nextRenewalAt]);
    configText = `${accountsAndTokens(1, 2)}[token broken]\naccount = nobody\n`;
    const refused = await d().reload();
    assert.equal(refused.ok, false);
    assert.match(refused.error?.message ?? '', /config\.ini line \d+: Config for \[token broken\]/);
    const snap = d().snapshot();
    assert.equal(snap.configError?.code, refused.error?.code);
    assert.deepEqual(
      snap.rows.map((r) => [r.id, r.nextRenewalAt]),
      before,
    );
    assert.ok(events.some((e) => e.type === 'reload-refused'));
    // Not parseable at all: refused the same way.
    configText = '[token x\n';
    assert.equal((await d().reload()).ok, false);

    // A good config without a0t1 and with a new a0t2.
    configText = accountsAndTokens(1, 3).replace(/\[token a0t1\][^[]*/, '');
    const calls = issuer.calls.length;
    const result = await d().reload();
    await time.advance(0, d());
    assert.deepEqual(result, { ok: true, added: ['a0t2'], removed: ['a0t1'], changed: [] });
    assert.equal(d().snapshot().configError, undefined);
    assert.deepEqual(
      d()
        .snapshot()
        .rows.map((r) => r.id)
        .sort(),
      ['a0t0', 'a0t2'],
    );
    assert.deepEqual(
      issuer.calls.slice(calls).map((c) => c.only),
      [['a0t2']],
    );
    await time.advance(7200_000, d());
    assert.ok(issuer.calls.every((c) => c.at <= (issuer.calls[calls]?.at ?? 0) || !c.only.includes('a0t1')));
  });

  it('stops retrying an account that needs a new login, and resumes when its credential changes', async () => {
    configText = accountsAndTokens(1, 1);
    issuer.mode = new TokenwardenError('NEEDS_LOGIN', 'account a0 needs a new login', {
      hint: 'run: tokenwarden setup a0',
    });
    await start({ watchSeconds: 60 });
    assert.equal(issuer.calls.length, 1);
    assert.equal(row('a0t0')?.state, 'needs-login');
    assert.equal(row('a0t0')?.nextRenewalAt, undefined);
    assert.equal(d().snapshot().groups[0]?.problem?.code, 'NEEDS_LOGIN');
    await time.advance(3600_000, d());
    assert.equal(issuer.calls.length, 1, 'the refused refresh token was sent again');
    // `setup` writes a new credential file.
    const credential = resolveRenewerConfig(parseIni(configText, join(dir, 'config.ini')), {
      file: join(dir, 'config.ini'),
      env: {},
      uid: process.getuid?.() ?? 1000,
      home: dir,
    }).accounts.get('a0');
    assert.ok(credential?.kind === 'refresh');
    await mkdir(join(credential.credentialFile, '..'), { recursive: true });
    await writeFile(credential.credentialFile, 'a new login');
    issuer.mode = 'up';
    await time.advance(60_000, d());
    assert.equal(issuer.calls.length, 2);
    assert.equal(row('a0t0')?.state, 'ok');
    assert.equal(d().snapshot().groups[0]?.problem, undefined);
    assert.ok(events.some((e) => e.type === 'account-resumed'));
  });

  for (const withBroken of [false, true]) {
    it(`resumes an account whose credential did not decrypt once its password file changes (loaded again)${withBroken ? ', even while another section has been broken all along' : ''}`, async () => {
      // Regression (with a broken section): the reload that reads the new password was refused for the
      // section broken since the start, and the account stayed stuck until a restart.
      configText = `${accountsAndTokens(1, 1)}${withBroken ? `[token orphan]\naccount = nobody\ntoken_path = ${join(dir, 'o.token')}\n` : ''}`;
      await writeFile(join(dir, 'a0.pw'), 'wrong\n', { mode: 0o600 });
      issuer.mode = new TokenwardenError('STORE_DECRYPT_FAILED', 'cannot decrypt credential_file');
      let loads = 0;
      const counted = load();
      await start({
        watchSeconds: 60,
        load: async () => {
          loads++;
          return counted();
        },
      });
      assert.equal(row('a0t0')?.state, 'failing');
      assert.equal(row('a0t0')?.nextRenewalAt, undefined);
      await time.advance(600_000, d());
      assert.equal(issuer.calls.length, 1);
      await writeFile(join(dir, 'a0.pw'), 'right\n', { mode: 0o600 });
      issuer.mode = 'up';
      await time.advance(60_000, d());
      assert.equal(loads, 2, 'the configuration (and so the password) was loaded again');
      assert.equal(issuer.calls.length, 2);
      assert.equal(row('a0t0')?.state, 'ok');
      assert.equal(d().snapshot().groups[0]?.problem, undefined);
      // The reload that read the new password file was taken, not refused for the old broken section.
      assert.equal(d().snapshot().configError, undefined);
      assert.ok(!events.some((e) => e.type === 'reload-refused'));
      if (withBroken) assert.equal(row('orphan')?.state, 'broken');
    });
  }

  it('shows broken sections as broken and runs the rest', async () => {
    configText = `${accountsAndTokens(1, 1)}[token orphan]\naccount = nobody\ntoken_path = ${join(dir, 'o.token')}\n`;
    await start();
    assert.equal(row('orphan')?.state, 'broken');
    assert.match(row('orphan')?.lastError?.message ?? '', /Config for \[token orphan\]/);
    assert.equal(row('a0t0')?.state, 'ok');
    assert.ok(issuer.calls.every((c) => !c.only.includes('orphan')));
  });

  it('cuts a wait longer than a Node timer can hold into pieces, and still fires on time', async () => {
    configText = accountsAndTokens(1, 1);
    issuer.ttl = 120 * 86400;
    await start();
    const first = issuer.calls[0]?.at ?? 0;
    assert.ok(time.delays.every((ms) => ms <= MAX_TIMER_MS));
    // Renewed at exp - min_lifetime, 120 days minus a minute later: five pieces of at most 24.8 days.
    await time.advance((120 * 86400 - 61) * 1000, d());
    assert.equal(issuer.calls.length, 1);
    await time.advance(2_000, d());
    assert.equal(issuer.calls.length, 2);
    assert.equal((issuer.calls[1]?.at ?? 0) - first, 120 * 86400 - 60);
  });

  it('an account that comes to need a login while another of its tokens waits in its queue stops there', async () => {
    // Regression: the queued token used to re-start the blocked account's run at once, forever (a
    // busy loop that froze the daemon: no timer, no HTTP, no SIGTERM).
    configText = accountsAndTokens(1, 2);
    const iat = Math.floor(time.seconds);
    // a0t1 is due in 61 s; a0t0 has no token yet, so it is renewed at once.
    await writeFile(join(dir, 'a0t1.token'), jwt({ iat, exp: iat + 121 }));
    let open: () => void = () => {};
    issuer.gate = new Promise((resolve) => {
      open = resolve;
    });
    issuer.mode = new TokenwardenError('NEEDS_LOGIN', 'account a0 needs a new login');
    await create().start();
    const first = time.advance(0, d());
    while (issuer.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // a0t1's timer fires while a0t0's renewal holds at the gate: it is queued behind it.
    await time.advance(61_000, { idle: async () => {} } as unknown as Daemon);
    open();
    await first;
    await d().idle();
    assert.equal(issuer.calls.length, 1);
    assert.equal(d().snapshot().groups[0]?.problem?.code, 'NEEDS_LOGIN');
    assert.equal(row('a0t1')?.nextRenewalAt, undefined, 'a0t1 waits with its account');
    // Timers still run: an hour passes, and the refused refresh token is not sent again.
    await time.advance(3600_000, d());
    assert.equal(issuer.calls.length, 1);
    // Its token ran out meanwhile, with nothing able to renew it: shown missing, not ok.
    assert.equal(row('a0t1')?.state, 'missing');
  });

  it('a hung issuer holds at most half the slots: accounts of another issuer still renew', async () => {
    let text = `[DEFAULT]\nstate_dir = ${join(dir, 'state')}\n\n`;
    for (const [name, issuerUrl] of [
      ['h0', 'https://hung.example'],
      ['h1', 'https://hung.example'],
      ['ok', 'https://fine.example'],
    ]) {
      text += `[account ${name}]\npassword_file = ${join(dir, `${name}.pw`)}\nissuer = ${issuerUrl}\n\n`;
      text += `[token ${name}t]\naccount = ${name}\ntoken_path = ${join(dir, `${name}t.token`)}\nmin_lifetime = 60\n\n`;
    }
    configText = text;
    let release: () => void = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const renewed: string[] = [];
    create({
      concurrency: 2,
      renew: async (o) => {
        const token = o.config.tokens.find((t) => o.only?.includes(t.name));
        assert.ok(token);
        if (token.account.startsWith('h')) await hung;
        renewed.push(token.account);
        const iat = Math.floor(time.seconds);
        await writeFile(token.tokenPath, jwt({ iat, exp: iat + 3600 }));
        return {
          outcomes: [
            {
              token: token.name,
              account: token.account,
              path: token.tokenPath,
              result: 'renewed',
              expiresAt: iat + 3600,
            },
          ],
          accounts: [],
        };
      },
    });
    await d().start();
    await time.advance(0, { idle: async () => {} } as unknown as Daemon);
    for (let i = 0; i < 50 && !renewed.includes('ok'); i++)
      await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(renewed, ['ok'], 'the account of the working issuer was not held up by the hung one');
    release();
    await d().idle();
    assert.deepEqual([...renewed].sort(), ['h0', 'h1', 'ok']);
  });

  it('close() lets the renewal in flight finish, is idempotent, and starts nothing after', async () => {
    configText = accountsAndTokens(2, 1);
    let open: () => void = () => {};
    issuer.gate = new Promise((resolve) => {
      open = resolve;
    });
    await create({ concurrency: 1, jitterSeconds: undefined }).start();
    // Fires both accounts' timers; the first account's renewal holds at the gate.
    const started = time.advance(0, d());
    while (issuer.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const closing = d().close();
    const again = d().close();
    assert.equal(closing, again);
    let closed = false;
    void closing.then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false, 'closed before the renewal in flight finished');
    open();
    await closing;
    await started;
    assert.equal(issuer.stopSeen, true);
    assert.equal(issuer.calls.length, 1, 'the second account was started after close');
    assert.ok(events.some((e) => e.type === 'stopped'));
  });
});
