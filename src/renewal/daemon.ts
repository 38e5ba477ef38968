import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AccountConfig, RenewerConfig, TokenConfig } from '../config/index.js';
import { ClientCache, nextRefreshTokenExpiresAt } from '../credentials/index.js';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import type { CredentialStore } from '../store/index.js';
import { type DecodedToken, decodeToken } from '../tokens/index.js';
import { backoff, DEFAULT_RENEWAL_FRACTION, isRetryable, nextRenewalAt } from '../tokens/schedule.js';
import type { CredentialRow, GroupStatus, StatusError, StatusSnapshot } from '../web/status-model.js';
import { computeWarnings, DEFAULT_REFRESH_TOKEN_WARN_SECONDS } from '../web/warnings.js';
import { type Alarm, type DaemonTimers, NODE_TIMERS, setAlarm } from './daemon-alarm.js';
import { credentialFileIdentity, passwordFileIdentity } from './health.js';
import { renewReason } from './policy.js';
import { mapLimit, type RenewOptions, type RenewResult, renewTokens, type TokenOutcome } from './renew.js';

/** One loaded configuration, with what renewTokens needs to work on it. */
export interface DaemonConfig {
  config: RenewerConfig;
  /** The credential store of this configuration; closed by the daemon when it is replaced. */
  store: CredentialStore;
  clientSecret: RenewOptions['clientSecret'];
  /** See RenewOptions.passwordIdentities. */
  passwordIdentities?: ReadonlyMap<string, string> | undefined;
  /** Accounts that cannot be used with this configuration (an unreadable password file). */
  unusable?: ReadonlyMap<string, TokenwardenError> | undefined;
}

/** What the daemon tells its host, one event per thing that happened (the host formats and redacts). */
export type DaemonEvent =
  | { type: 'started'; tokens: number; accounts: number; broken: number }
  | { type: 'renewed'; token: string; account: string; expiresAt?: number | undefined; nextAt: number }
  | {
      type: 'failed';
      token: string;
      account: string;
      error: TokenwardenError;
      /** When it is tried again (epoch seconds), absent when it waits for a person. */
      retryAt?: number | undefined;
      attempt: number;
    }
  | { type: 'account-blocked'; account: string; error: TokenwardenError }
  | { type: 'account-resumed'; account: string }
  /** The account's refresh token expires within the warning window: said once, not at every renewal. */
  | { type: 'refresh-token-expiring'; account: string; expiresAt: number }
  | { type: 'reloaded'; added: string[]; removed: string[]; changed: string[] }
  | { type: 'reload-refused'; error: TokenwardenError }
  | { type: 'warning'; message: string }
  | { type: 'stopping' }
  | { type: 'stopped' };

export interface DaemonOptions {
  /**
   * Loads (and reloads) the configuration: config.ini resolved with broken sections collected, the
   * password and client-secret files read, and a store for it. Throws when the file cannot be used.
   */
  load(): Promise<DaemonConfig>;
  /** Milliseconds since the epoch (Date.now). */
  clock?: () => number;
  timers?: DaemonTimers;
  fetch?: typeof fetch;
  /** Uniform in [0, 1) (Math.random): the jitter of renewal times and retries. */
  rand?: () => number;
  log?: (event: DaemonEvent) => void;
  /** Accounts worked on at once (default 16). */
  concurrency?: number;
  /** Renew at this fraction of a token's lifetime at the latest (default 0.5). */
  fraction?: number;
  /** Most jitter taken off a renewal time (seconds; default 300, and never more than a tenth of the lifetime). */
  jitterSeconds?: number;
  /** Retry backoff (seconds): first delay and cap (default 10 and 600). */
  backoffBaseSeconds?: number;
  backoffCapSeconds?: number;
  /** How often a credential that waits for a person is looked at for a new `setup` (default 60 s). */
  watchSeconds?: number;
  /** Tokens of one account due within this many seconds of each other are renewed together (default 5). */
  batchWindowSeconds?: number;
  /**
   * Seconds after a load (start, reload) at which one full garbage collection gives the memory the load
   * needed back to the system (default 10; 0: never). See collectGarbage.
   */
  compactAfterLoadSeconds?: number;
  /** The orchestrator (renewTokens); replaceable so the scheduling can be tested on its own. */
  renew?: (options: RenewOptions) => Promise<RenewResult>;
}

export interface ReloadResult {
  ok: boolean;
  /** Why the new configuration was refused (the old one keeps running). */
  error?: TokenwardenError | undefined;
  added: string[];
  removed: string[];
  changed: string[];
}

export interface Daemon {
  /** Loads the configuration and schedules every token; throws when the configuration cannot be used. */
  start(): Promise<void>;
  /** Loads the configuration again; a bad one is refused and the running one kept. */
  reload(): Promise<ReloadResult>;
  /** Stops: starts nothing new, lets the refresh in flight finish and be saved, closes the stores. Idempotent. */
  close(): Promise<void>;
  snapshot(): StatusSnapshot;
  /**
   * Why the daemon is not ready to renew, or undefined when it is: a configuration is loaded and its
   * state directory (where the credentials and their locks live) can be reached.
   */
  notReady(): Promise<StatusError | undefined>;
  /**
   * Resolves once nothing is in progress (no renewal, file read or reload): for tests that drive the
   * timers by hand, and for a host that wants to know the work a timer started is done.
   */
  idle(): Promise<void>;
}

/** A token renewed that is due again at once waits at least this long (seconds) before the next try. */
const MIN_RENEWAL_INTERVAL_SECONDS = 5;

/** Error codes that say an account cannot work until a person acts (a new login, a setup, a password). */
const NEEDS_A_PERSON = new Set([
  'NEEDS_LOGIN',
  'STORE_NOT_FOUND',
  'STORE_DECRYPT_FAILED',
  'PASSWORD_FILE',
  // A rotated refresh token that could not be saved: the one on disk is dead, and sending it again would
  // only trip the issuer's reuse detection.
  'CREDENTIAL_LOST',
]);

interface Generation {
  loaded: DaemonConfig;
  /** Account runs using it; its store is closed once it is replaced and this reaches 0. */
  active: number;
  retired: boolean;
}

interface TokenEntry {
  token: TokenConfig;
  /** config.ini's words for it and its account, to tell a changed section at reload. */
  key: string;
  alarm?: Alarm | undefined;
  /** When it is next attempted (epoch seconds), undefined while none is planned. */
  nextAt?: number | undefined;
  state: CredentialRow['state'];
  issuedAt?: number | undefined;
  expiresAt?: number | undefined;
  lastRenewal?: number | undefined;
  lastError?: StatusError | undefined;
  failingSince?: number | undefined;
  failures: number;
  /** The renewal time comes from the schedule, not from min_lifetime: renewTokens must be forced. */
  early: boolean;
}

interface AccountEntry {
  name: string;
  account: AccountConfig | undefined;
  key: string;
  queue: Set<string>;
  running?: Promise<void> | undefined;
  /** Consecutive failed attempts (for backoff); 0 after a success. */
  attempt: number;
  lastDelay?: number | undefined;
  issuerFailingSince?: number | undefined;
  /** Set while the account waits for a person; its identity is that of its credential and password files. */
  blocked?: { error: TokenwardenError; identity: string } | undefined;
  watch?: Alarm | undefined;
  refreshTokenIssuedAt?: number | undefined;
  /**
   * When its refresh token expires at the issuer (epoch seconds), as the latest refresh grant since the
   * daemon started said (credentials/refresh-expiry.ts). Only in memory: the credential record's format
   * is oidc-agent's too, and has no place for it.
   */
  refreshTokenExpiresAt?: number | undefined;
  /** The `refresh-token-expiring` event was logged for the expiry now known (reset when it leaves the window). */
  refreshTokenExpiryLogged?: boolean | undefined;
}

/**
 * The long-running renewer: every [token] on its own timer (from its own expiry, see schedule.ts), one
 * renewal per account at a time, accounts in parallel, retries with backoff on transient failures, and
 * an account that needs a person watched until its credential changes. Nothing a token or an account
 * does stops the others or the daemon.
 */
export function createDaemon(options: DaemonOptions): Daemon {
  const clock = options.clock ?? Date.now;
  const timers = options.timers ?? NODE_TIMERS;
  const rand = options.rand ?? Math.random;
  const log = options.log ?? (() => {});
  const renew = options.renew ?? renewTokens;
  const fraction = options.fraction ?? DEFAULT_RENEWAL_FRACTION;
  const jitterMax = options.jitterSeconds ?? 300;
  const base = options.backoffBaseSeconds ?? 10;
  const cap = options.backoffCapSeconds ?? 600;
  const watchMs = (options.watchSeconds ?? 60) * 1000;
  const windowSeconds = options.batchWindowSeconds ?? 5;
  const compactMs = (options.compactAfterLoadSeconds ?? 10) * 1000;
  const slots = createSlots(options.concurrency ?? 16);
  /** Per issuer, at most half the slots (at least one), so one hung issuer cannot take them all. */
  const perIssuer = Math.max(1, Math.ceil((options.concurrency ?? 16) / 2));
  const bySlotIssuer = new Map<string, ReturnType<typeof createSlots>>();
  const issuerSlots = (issuer: string) => {
    let s = bySlotIssuer.get(issuer);
    if (s === undefined) {
      s = createSlots(perIssuer);
      bySlotIssuer.set(issuer, s);
    }
    return s;
  };
  const stop = new AbortController();
  const now = () => clock() / 1000;
  const clients = new ClientCache();

  let gen: Generation | undefined;
  let startedAt = now();
  let configLoadedAt: number | undefined;
  let configError: StatusError | undefined;
  const tokens = new Map<string, TokenEntry>();
  /** The token names of each account, so a timer looks at its account's tokens, not at all of them. */
  const byAccount = new Map<string, string[]>();
  const tokensOf = (account: string) => byAccount.get(account) ?? [];
  const accounts = new Map<string, AccountEntry>();
  let broken: RenewerConfig['brokenTokens'] = [];
  let closing: Promise<void> | undefined;
  let compaction: Alarm | undefined;
  let reloading: Promise<ReloadResult> | undefined;
  /** Every account run in progress, also of accounts a reload removed meanwhile (close waits for all). */
  const runs = new Set<Promise<void>>();
  /** Everything else started from a timer or a reload (file reads, credential checks). */
  const pending = new Set<Promise<unknown>>();
  function track<T>(p: Promise<T>): Promise<T> {
    pending.add(p);
    void p.then(
      () => pending.delete(p),
      () => pending.delete(p),
    );
    return p;
  }

  function safeLog(event: DaemonEvent) {
    try {
      log(event);
    } catch {
      // A failing log sink must not stop renewals.
    }
  }

  // --- scheduling -------------------------------------------------------------------------------------

  function plan(name: string, at: number | undefined) {
    const e = tokens.get(name);
    if (e === undefined) return;
    e.alarm?.cancel();
    e.alarm = undefined;
    e.nextAt = at;
    if (at === undefined || closing) return;
    e.alarm = setAlarm(timers, clock, at * 1000, () => due(name));
  }

  /** Reads a token file and plans its renewal from its own iat and exp. */
  function inspect(name: string): Promise<void> {
    return track(inspectNow(name));
  }

  async function inspectNow(name: string): Promise<void> {
    const e = tokens.get(name);
    if (e === undefined) return;
    const current = await readToken(e.token.tokenPath);
    if (tokens.get(name) !== e) return;
    const exp = typeof current === 'object' ? numeric(current.claims.exp) : undefined;
    const iat = typeof current === 'object' ? numeric(current.claims.iat) : undefined;
    scheduleFrom(name, e, exp, iat, renewReason(current, e.token, now()) !== undefined);
  }

  /**
   * Plans a token's next renewal from the exp and iat of the token on disk (`due`: min_lifetime says it
   * must be renewed now). Right after a renewal (`justRenewed`), a token still due at once (its
   * min_lifetime is at least the lifetime the issuer grants) is planned a fraction of its lifetime
   * later, not at once: renewing it in a loop would only hammer the issuer.
   */
  function scheduleFrom(
    name: string,
    e: TokenEntry,
    exp: number | undefined,
    iat: number | undefined,
    due: boolean,
    justRenewed = false,
  ): void {
    const t = now();
    e.expiresAt = exp;
    e.issuedAt = iat;
    if (e.state !== 'failing' && e.state !== 'needs-login') {
      e.state = exp !== undefined && exp > t ? 'ok' : 'missing';
    }
    const lifetime = exp === undefined ? 0 : iat === undefined ? exp - t : exp - iat;
    if (due || exp === undefined) {
      e.early = false;
      plan(name, justRenewed ? t + Math.max(MIN_RENEWAL_INTERVAL_SECONDS, lifetime * fraction) : t);
      return;
    }
    const jitter = Math.min(jitterMax, Math.max(0, lifetime) / 10);
    const at = nextRenewalAt({ exp, iat }, { minLifetime: e.token.minLifetime, fraction, jitter }, rand);
    e.early = at < exp - e.token.minLifetime;
    plan(name, Math.max(at, t));
  }

  /** A token's timer fired: queue it, with the tokens of its account due soon after, and run the account. */
  function due(name: string) {
    const e = tokens.get(name);
    if (e === undefined || closing) return;
    e.alarm = undefined;
    const a = accounts.get(e.token.account);
    if (a === undefined) return;
    if (a.blocked) {
      // Waits for a person; planned again when the credential changes (checkBlocked).
      e.nextAt = undefined;
      return;
    }
    const t = now();
    const horizon = t + windowSeconds;
    a.queue.add(name);
    for (const other of tokensOf(a.name)) {
      const o = tokens.get(other);
      if (o === undefined || o.nextAt === undefined || o.nextAt > horizon) continue;
      // A failing token waits out its own backoff (and Retry-After), not a moment less.
      if (o.state === 'failing' && o.nextAt > t) continue;
      o.alarm?.cancel();
      o.alarm = undefined;
      // Taken a little ahead of its time: still fresh by min_lifetime, so the renewal is forced.
      if (o.nextAt > t) o.early = true;
      a.queue.add(other);
    }
    kick(a);
  }

  function kick(a: AccountEntry) {
    if (a.running !== undefined || closing || a.queue.size === 0) return;
    const run = runAccount(a).finally(() => {
      a.running = undefined;
      runs.delete(run);
      // Tokens queued while it ran (a timer that fired meanwhile) get their turn, unless the account now
      // waits for a person: then they wait with it (checkBlocked plans them again).
      if (a.blocked) dropQueue(a);
      else if (a.queue.size > 0 && accounts.get(a.name) === a) kick(a);
    });
    a.running = run;
    runs.add(run);
  }

  /** Forgets what an account that waits for a person had queued: nothing of it is planned until it resumes. */
  function dropQueue(a: AccountEntry) {
    for (const n of a.queue) {
      const e = tokens.get(n);
      if (e !== undefined && e.token.account === a.name && e.alarm === undefined) e.nextAt = undefined;
    }
    a.queue.clear();
  }

  async function runAccount(a: AccountEntry): Promise<void> {
    // An issuer that hangs may hold at most its share of the slots, never all of them: accounts of
    // other issuers keep renewing (docs/architecture.md invariant 4).
    const releaseIssuer = await issuerSlots(a.account?.issuer ?? '').acquire();
    const release = await slots.acquire();
    try {
      while (a.queue.size > 0 && !closing && !a.blocked && accounts.get(a.name) === a) {
        const names = [...a.queue].filter((n) => tokens.get(n)?.token.account === a.name);
        a.queue.clear();
        if (names.length > 0) await attempt(a, names);
      }
    } catch (err) {
      // A bug in the loop itself: reported, and the account tried again later rather than lost.
      safeLog({ type: 'warning', message: `account ${a.name}: ${messageOf(err)}` });
      for (const n of tokensOf(a.name)) if (tokens.get(n)?.alarm === undefined) plan(n, now() + cap);
    } finally {
      release();
      releaseIssuer();
    }
  }

  async function attempt(a: AccountEntry, names: string[]): Promise<void> {
    const g = gen;
    if (g === undefined) return;
    g.active++;
    const entries = names.map((n) => tokens.get(n)).filter((e): e is TokenEntry => e !== undefined);
    for (const e of entries) {
      // A retry of a failing token is still failing until it succeeds: the page and /metrics keep saying so.
      if (e.state !== 'failing') e.state = 'renewing';
      e.nextAt = undefined;
    }
    const outcomes = new Map<string, TokenOutcome>();
    let thrown: TokenwardenError | undefined;
    try {
      const result = await renew({
        config: g.loaded.config,
        store: g.loaded.store,
        clientSecret: g.loaded.clientSecret,
        clock,
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        stop: stop.signal,
        concurrency: 1,
        // A token whose renewal time comes from the fraction of its lifetime, not min_lifetime, is
        // still fresh by min_lifetime: renewTokens renews it only when forced.
        force: entries.some((e) => e.early),
        only: names,
        ...(g.loaded.unusable === undefined ? {} : { unusable: g.loaded.unusable }),
        ...(g.loaded.passwordIdentities === undefined
          ? {}
          : { passwordIdentities: g.loaded.passwordIdentities }),
        // One long-lived cache: each issuer's discovery is done once, not at every renewal.
        clients,
      });
      for (const o of result.outcomes) outcomes.set(o.token, o);
      // An account found unable to renew while its tokens were still fresh (no credential, needs login,
      // does not decrypt): it waits for a person as if a renewal had failed so.
      const problem = result.accounts.find((p) => p.account === a.name);
      if (problem !== undefined) thrown = problem.error;
    } catch (err) {
      thrown =
        err instanceof TokenwardenError
          ? err
          : new TokenwardenError('INTERNAL', messageOf(err), { cause: err });
    } finally {
      g.active--;
      if (g.retired && g.active === 0) void g.loaded.store.close().catch(() => {});
    }
    await settle(a, names, outcomes, thrown, new Map(entries.map((e) => [e.token.name, e])));
  }

  async function settle(
    a: AccountEntry,
    names: string[],
    outcomes: Map<string, TokenOutcome>,
    thrown: TokenwardenError | undefined,
    attempted: ReadonlyMap<string, TokenEntry>,
  ): Promise<void> {
    const t = now();
    let retryable = false;
    let retryAfter: number | undefined;
    let success = false;
    const failed: Array<[string, TokenEntry, TokenwardenError]> = [];
    for (const name of names) {
      const e = tokens.get(name);
      // Removed or replaced by a reload meanwhile: the reload planned the new entry from its file, and
      // this run's result (of the old section) must not overwrite it.
      if (e === undefined || e !== attempted.get(name) || e.token.account !== a.name) continue;
      const o = outcomes.get(name);
      if (o?.stopped) {
        e.state = e.expiresAt !== undefined && e.expiresAt > t ? 'ok' : 'missing';
        continue;
      }
      if (o !== undefined && o.result !== 'failed') {
        success = true;
        if (o.result === 'renewed') e.lastRenewal = t;
        e.state = 'ok';
        e.failures = 0;
        e.lastError = undefined;
        e.failingSince = undefined;
        if (o.expiresAt !== undefined) {
          // The outcome says what is on disk now: no need to read the file back.
          const dueNow = o.expiresAt - t <= e.token.minLifetime;
          scheduleFrom(name, e, o.expiresAt, o.issuedAt, dueNow, o.result === 'renewed');
        } else await inspect(name);
        if (o.result === 'renewed') {
          safeLog({
            type: 'renewed',
            token: name,
            account: a.name,
            expiresAt: o.expiresAt,
            nextAt: e.nextAt ?? t,
          });
        }
        if (o.warning) safeLog({ type: 'warning', message: o.warning });
        noteRefreshToken(a, o, t);
        continue;
      }
      const error =
        o?.error ??
        thrown ??
        new TokenwardenError('INTERNAL', `[token ${name}]: no outcome from the renewal`);
      if (isRetryable(error)) {
        retryable = true;
        if (error.retryAfterSeconds !== undefined)
          retryAfter = Math.max(retryAfter ?? 0, error.retryAfterSeconds);
      }
      failed.push([name, e, error]);
    }
    if (success) {
      a.attempt = 0;
      a.lastDelay = undefined;
      a.issuerFailingSince = undefined;
      void track(noteCredential(a));
    }
    if (failed.length === 0) {
      if (thrown !== undefined && NEEDS_A_PERSON.has(thrown.code) && !a.blocked) await block(a, thrown);
      return;
    }
    // An account this configuration could not use (its password file unreadable or unsafe) fails the
    // same way until the file is fixed: watched like one that needs a login, and loaded again then.
    const unusable = gen?.loaded.unusable?.has(a.name) === true;
    const blocking = failed.find(([, , err]) => unusable || NEEDS_A_PERSON.has(err.code));
    if (blocking !== undefined) {
      await block(a, blocking[2]);
    }
    a.attempt++;
    if (retryable) a.issuerFailingSince ??= t;
    // One delay for the whole account, so its tokens stay together; its jitter spreads the accounts.
    const delay = retryable
      ? backoff(
          a.attempt,
          { baseSeconds: base, capSeconds: cap, retryAfterSeconds: retryAfter, previousSeconds: a.lastDelay },
          rand,
        )
      : cap;
    a.lastDelay = delay;
    for (const [name, e, error] of failed) {
      e.failures++;
      e.failingSince ??= t;
      e.lastError = statusError(error);
      const person = unusable || NEEDS_A_PERSON.has(error.code);
      e.state = error.code === 'NEEDS_LOGIN' || error.code === 'CREDENTIAL_LOST' ? 'needs-login' : 'failing';
      const retryAt = person || a.blocked ? undefined : t + delay;
      plan(name, retryAt);
      safeLog({ type: 'failed', token: name, account: a.name, error, retryAt, attempt: e.failures });
    }
  }

  /**
   * Keeps what a renewal's refresh grants said of the account's refresh token's expiry, for the status
   * snapshot (and so the `refresh-token-expiring` warning), and logs once when it comes within the
   * warning window: the snapshot's warning says so for as long as it lasts, the log only when it starts.
   */
  function noteRefreshToken(a: AccountEntry, o: TokenOutcome, t: number) {
    if (o.refreshTokenNews === undefined || accounts.get(a.name) !== a) return;
    a.refreshTokenExpiresAt = nextRefreshTokenExpiresAt(a.refreshTokenExpiresAt, o.refreshTokenNews);
    const expiresAt = a.refreshTokenExpiresAt;
    if (expiresAt === undefined || expiresAt - t >= DEFAULT_REFRESH_TOKEN_WARN_SECONDS) {
      // A new login (or an issuer that says it lasts longer) ends the episode: a later one is logged again.
      a.refreshTokenExpiryLogged = false;
      return;
    }
    if (a.refreshTokenExpiryLogged) return;
    a.refreshTokenExpiryLogged = true;
    safeLog({ type: 'refresh-token-expiring', account: a.name, expiresAt });
  }

  // --- accounts that wait for a person ------------------------------------------------------------------

  async function identityOf(a: AccountEntry): Promise<string> {
    if (a.account?.kind !== 'refresh') return '';
    const [cred, pw] = await Promise.all([
      credentialFileIdentity(a.account.credentialFile).catch(() => 'error'),
      passwordFileIdentity(a.account.passwordFile).catch(() => 'error'),
    ]);
    return `${cred ?? 'absent'}|${pw ?? 'absent'}`;
  }

  async function block(a: AccountEntry, error: TokenwardenError) {
    // An account entry a reload replaced is not watched: the new one decides for itself.
    if (a.blocked || accounts.get(a.name) !== a) return;
    a.blocked = { error, identity: await identityOf(a) };
    safeLog({ type: 'account-blocked', account: a.name, error });
    armWatch(a);
  }

  function armWatch(a: AccountEntry) {
    a.watch?.cancel();
    if (closing) return;
    a.watch = setAlarm(timers, clock, clock() + watchMs, () => {
      void track(
        checkBlocked(a).catch((err) =>
          safeLog({ type: 'warning', message: `account ${a.name}: ${messageOf(err)}` }),
        ),
      );
    });
  }

  async function checkBlocked(a: AccountEntry) {
    if (!a.blocked || accounts.get(a.name) !== a || closing) return;
    const identity = await identityOf(a);
    if (identity === a.blocked.identity) {
      armWatch(a);
      return;
    }
    const passwordChanged = identity.split('|')[1] !== a.blocked.identity.split('|')[1];
    safeLog({ type: 'account-resumed', account: a.name });
    // A new password file is only read by a load: the whole configuration is loaded again, which
    // resumes the account (see apply).
    if (passwordChanged || gen?.loaded.unusable?.has(a.name)) {
      const result = await reload();
      if (result.ok) return;
    }
    a.blocked = undefined;
    a.watch = undefined;
    a.attempt = 0;
    for (const name of tokensOf(a.name)) {
      const e = tokens.get(name);
      if (e === undefined) continue;
      e.state = e.expiresAt !== undefined && e.expiresAt > now() ? 'ok' : 'missing';
      await inspect(name);
    }
  }

  /** When the stored refresh token was last saved: the credential file's mtime (no decryption needed). */
  async function noteCredential(a: AccountEntry) {
    if (a.account?.kind !== 'refresh') return;
    try {
      a.refreshTokenIssuedAt = Math.floor((await stat(a.account.credentialFile)).mtimeMs / 1000);
    } catch {
      a.refreshTokenIssuedAt = undefined;
    }
  }

  // --- configuration ------------------------------------------------------------------------------------

  // A section's key is a digest of its words, not the words: 10,000 tokens' JSON (their account's
  // included) held for the next reload came to about 5 MB of the idle daemon's heap.
  function keyOfToken(t: TokenConfig, accountKey: string): string {
    const { line: _line, ...rest } = t;
    return digest(`${JSON.stringify(rest)}\n${accountKey}`);
  }

  function keyOfAccount(account: AccountConfig | undefined): string {
    if (account === undefined) return '';
    const { line: _line, ...rest } = account as AccountConfig & { line?: number };
    return digest(JSON.stringify(rest, (_k, v) => (v instanceof Map || v instanceof Set ? [...v] : v)));
  }

  /**
   * Refuses a configuration with a section broken anew: on reload, a typo must not stop a running token.
   * A section that was already broken in the running configuration stops nothing that runs, so it does
   * not hold back the rest of the reload (a corrected password file is picked up by a reload even while
   * another section has long been broken).
   */
  function problemOf(config: RenewerConfig): TokenwardenError | undefined {
    const running = gen?.loaded.config;
    const was = new Set([
      ...(running?.problems ?? []).map((p) => `${p.kind} ${p.name}`),
      ...(running?.brokenTokens ?? []).map((b) => `token ${b.name}`),
    ]);
    const fresh = [
      ...config.problems.map((p) => ({ key: `${p.kind} ${p.name}`, error: p.error })),
      ...config.brokenTokens.map((b) => ({ key: `token ${b.name}`, error: b.error })),
    ].find((p) => !was.has(p.key));
    return fresh?.error;
  }

  async function apply(loaded: DaemonConfig): Promise<ReloadResult> {
    const { config } = loaded;
    const previous = gen;
    gen = { loaded, active: 0, retired: false };
    configLoadedAt = now();
    configError = undefined;
    broken = config.brokenTokens;
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    // Accounts: runtime state (backoff, in-flight run) is kept for an account whose section is unchanged.
    const names = new Set(config.tokens.map((t) => t.account));
    // Each account's key once, not once per token.
    const accountKeys = new Map<string, string>();
    const accountKeyOf = (name: string) => {
      let key = accountKeys.get(name);
      if (key === undefined) {
        key = keyOfAccount(config.accounts.get(name));
        accountKeys.set(name, key);
      }
      return key;
    };
    for (const [name, a] of accounts) {
      const key = accountKeyOf(name);
      if (!names.has(name) || key !== a.key) {
        a.watch?.cancel();
        accounts.delete(name);
      }
    }
    const resumed = new Set<string>();
    for (const name of names) {
      const kept = accounts.get(name);
      if (kept !== undefined) {
        kept.account = config.accounts.get(name);
        // A reload is a person saying "try again": an account waiting for one is tried at once.
        if (kept.blocked) {
          kept.blocked = undefined;
          kept.watch?.cancel();
          kept.watch = undefined;
          kept.attempt = 0;
          resumed.add(name);
        }
        continue;
      }
      const account = config.accounts.get(name);
      const entry: AccountEntry = { name, account, key: accountKeyOf(name), queue: new Set(), attempt: 0 };
      accounts.set(name, entry);
      void track(noteCredential(entry));
    }
    const wanted = new Map(config.tokens.map((t) => [t.name, t]));
    for (const [name, e] of tokens) {
      if (!wanted.has(name)) {
        e.alarm?.cancel();
        tokens.delete(name);
        removed.push(name);
      }
    }
    const toInspect: string[] = [];
    for (const t of config.tokens) {
      const key = keyOfToken(t, accountKeyOf(t.account));
      const e = tokens.get(t.name);
      if (e !== undefined && e.key === key) {
        e.token = t;
        if (resumed.has(t.account)) {
          e.state = e.expiresAt !== undefined && e.expiresAt > now() ? 'ok' : 'missing';
          toInspect.push(t.name);
        }
        continue;
      }
      e?.alarm?.cancel();
      tokens.set(t.name, { token: t, key, state: 'missing', failures: 0, early: false });
      (e === undefined ? added : changed).push(t.name);
      toInspect.push(t.name);
    }
    byAccount.clear();
    for (const t of config.tokens) {
      const list = byAccount.get(t.account);
      if (list === undefined) byAccount.set(t.account, [t.name]);
      else list.push(t.name);
    }
    if (previous !== undefined) {
      previous.retired = true;
      if (previous.active === 0) await previous.loaded.store.close().catch(() => {});
    }
    // A bounded number of files read at once: 10,000 tokens must not mean 10,000 open files and buffers.
    await mapLimit(toInspect, 32, (n) => inspect(n));
    compactLater();
    return { ok: true, added, removed, changed };
  }

  /** One full collection a while after a load, once the daemon has gone quiet (see collectGarbage). */
  function compactLater() {
    compaction?.cancel();
    compaction = undefined;
    if (compactMs <= 0 || closing) return;
    compaction = setAlarm(timers, clock, clock() + compactMs, () => {
      compaction = undefined;
      collectGarbage();
    });
  }

  async function reload(): Promise<ReloadResult> {
    if (reloading) return reloading;
    reloading = track(
      (async () => {
        let loaded: DaemonConfig;
        try {
          loaded = await options.load();
          const problem = problemOf(loaded.config);
          if (problem !== undefined) {
            await loaded.store.close().catch(() => {});
            throw problem;
          }
        } catch (err) {
          const error =
            err instanceof TokenwardenError
              ? err
              : new TokenwardenError('INTERNAL', messageOf(err), { cause: err });
          configError = statusError(error);
          safeLog({ type: 'reload-refused', error });
          return { ok: false, error, added: [], removed: [], changed: [] };
        }
        if (closing) {
          await loaded.store.close().catch(() => {});
          return { ok: false, added: [], removed: [], changed: [] };
        }
        const result = await apply(loaded);
        safeLog({ type: 'reloaded', added: result.added, removed: result.removed, changed: result.changed });
        return result;
      })(),
    ).finally(() => {
      reloading = undefined;
    });
    return reloading;
  }

  // --- the interface ------------------------------------------------------------------------------------

  return {
    async start() {
      startedAt = now();
      const loaded = await options.load();
      await apply(loaded);
      safeLog({
        type: 'started',
        tokens: tokens.size,
        accounts: accounts.size,
        broken: broken.length,
      });
    },
    reload,
    close() {
      closing ??= (async () => {
        const running = gen !== undefined;
        if (running) safeLog({ type: 'stopping' });
        stop.abort();
        compaction?.cancel();
        for (const e of tokens.values()) e.alarm?.cancel();
        for (const a of accounts.values()) a.watch?.cancel();
        await reloading?.catch(() => {});
        await Promise.allSettled([...runs]);
        if (gen !== undefined) await gen.loaded.store.close().catch(() => {});
        if (running) safeLog({ type: 'stopped' });
      })();
      return closing;
    },
    async idle() {
      while (runs.size > 0 || pending.size > 0) {
        await Promise.allSettled([...runs, ...pending]);
      }
    },
    async notReady() {
      if (gen === undefined) return { code: 'NOT_READY', message: 'no configuration is loaded yet' };
      const dir = gen.loaded.config.stateDir;
      try {
        await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
        return undefined;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unreachable';
        return { code: 'STORE_UNREACHABLE', message: `the state directory ${dir} cannot be used (${code})` };
      }
    },
    snapshot() {
      const rows: CredentialRow[] = [];
      const t = now();
      for (const [name, e] of tokens) rows.push(rowOf(name, e, t));
      for (const b of broken) {
        rows.push(
          clean({
            id: b.name,
            group: b.account ?? '',
            path: b.tokenPath,
            state: 'broken',
            lastError: statusError(b.error),
          }),
        );
      }
      const groups: GroupStatus[] = [...accounts.values()].map((a) =>
        clean({
          name: a.name,
          kind: a.account?.kind ?? 'unknown',
          issuer: a.account?.issuer,
          refreshTokenIssuedAt: a.refreshTokenIssuedAt,
          refreshTokenExpiresAt: a.refreshTokenExpiresAt,
          problem: a.blocked ? statusError(a.blocked.error) : undefined,
          issuerFailingSince: a.issuerFailingSince,
        }),
      );
      const snapshot: StatusSnapshot = clean({
        service: 'daemon' as const,
        generatedAt: Math.floor(now()),
        startedAt: Math.floor(startedAt),
        configFile: gen?.loaded.config.file,
        configLoadedAt: configLoadedAt === undefined ? undefined : Math.floor(configLoadedAt),
        configError,
        rows,
        groups,
        warnings: [],
      });
      snapshot.warnings = computeWarnings(snapshot, snapshot.generatedAt);
      return snapshot;
    },
  };
}

/**
 * A token's row of the snapshot: its fields set only when known, in one order, rather than built whole
 * and cleaned by `delete` (which turns each of 10,000 objects into a slow dictionary: the snapshot, and
 * so every /metrics scrape, took several times as long).
 */
function rowOf(name: string, e: TokenEntry, now: number): CredentialRow {
  // A token that ran out while nothing could renew it (its account waits for a person) is missing,
  // whatever was last said of it.
  const state = e.state === 'ok' && e.expiresAt !== undefined && e.expiresAt <= now ? 'missing' : e.state;
  const row: CredentialRow = { id: name, group: e.token.account, path: e.token.tokenPath, state };
  if (e.issuedAt !== undefined) row.issuedAt = e.issuedAt;
  if (e.expiresAt !== undefined) row.expiresAt = e.expiresAt;
  if (e.lastRenewal !== undefined) row.lastRenewal = e.lastRenewal;
  if (e.nextAt !== undefined) row.nextRenewalAt = Math.round(e.nextAt);
  if (e.lastError !== undefined) row.lastError = e.lastError;
  if (e.failingSince !== undefined) row.failingSince = e.failingSince;
  if (e.failures > 0) row.failures = e.failures;
  return row;
}

/** At most `n` holders at once; the others wait in order. */
function createSlots(n: number) {
  let free = Math.max(1, n);
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    acquire(): Promise<() => void> {
      if (free > 0) {
        free--;
        return Promise.resolve(release);
      }
      return new Promise((resolve) => waiting.push(() => resolve(release)));
    },
  };
}

async function readToken(path: string): Promise<DecodedToken | 'missing' | 'unreadable'> {
  try {
    const text = await readFileIfExists(path, { maxBytes: 64 * 1024 });
    if (text === undefined) return 'missing';
    return decodeToken(text.trim());
  } catch {
    return 'unreadable';
  }
}

let gc: (() => void) | null | undefined;

/**
 * One full garbage collection. Loading a large config.ini (10,000 tokens) makes V8 grow its young
 * generation to its largest (32 MB, two 16 MB semi-spaces) and leaves the old generation with the
 * parse's garbage; V8 gives both back only at a full collection made while little is being allocated,
 * and an idle daemon, which allocates almost nothing, never has one: measured, the 32 MB stayed
 * committed for good (docs/daemon.md, "Memory"). So the daemon asks for one, a while after each load.
 * `gc` is V8's own, exposed by the one flag that exposes it (the same as `node --expose-gc`).
 */
function collectGarbage(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    try {
      if (exposed === undefined) setFlagsFromString('--expose-gc');
      gc = exposed ?? (runInNewContext('gc') as () => void);
    } catch {
      gc = null;
    }
  }
  gc?.();
}

/** A short, collision-resistant stand-in for a long string that is only ever compared. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function numeric(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function statusError(err: TokenwardenError): StatusError {
  return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Drops undefined fields, so the snapshot's JSON and deepEqual comparisons stay tidy. */
function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
