import { type Dirent, lstatSync, readdirSync, type Stats, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isTokenwardenError, TokenwardenError } from '../errors.js';
import { readFileWithIdentitySync } from '../files/index.js';
import type { CredmonFailedEvent, Log } from '../log/index.js';
import { backoff, isRetryable } from '../tokens/schedule.js';
import type { Metrics } from '../web/metrics.js';
import type {
  CredentialRow,
  CredentialState,
  GroupStatus,
  StatusError,
  StatusSnapshot,
} from '../web/status-model.js';
import { computeWarnings } from '../web/warnings.js';
import { findProviderConfig } from './config/index.js';
import type { CredmonConfig } from './config/types.js';
import {
  COMPLETE_FILE,
  checkCredDir,
  markComplete,
  markIncomplete,
  PID_FILE,
  SESSION_KEY_FILE,
  writePidFile,
} from './cred-dir.js';
import { MAX_CRED_FILE_BYTES } from './cred-files.js';
import { credentialDue, renewalTime } from './due.js';
import { type CredName, isValidUserName, KEY_FILE_NAME_RE, parseCredName } from './names.js';
import { createOAuth2Provider } from './providers/oauth2.js';
import type { CredentialProvider, CredentialRef, ProviderContext } from './providers/types.js';
import { ProviderQueue } from './queue.js';

/**
 * The credential monitor: HTCondor's `condor_credmon_oauth`, scheduled from each token's own expiry.
 *
 * A pass lists `<credDir>/<user>/<name>.top` (readdir and lstat only: a file is read only when its
 * identity changed since the last pass), maps each credential to its provider as the Python credmon
 * does (local issuer, client credentials, then OAuth2 for a provider with `<P>_CLIENT_ID`), and
 * schedules it: at once when `.use` is missing or older than `.top`, else from the token's own
 * `iat`/`exp` (due.ts). One timer waits for the earliest due time (a heap); a full pass runs at start,
 * on SIGHUP (`rescan`) and every `scanIntervalSeconds`, and touches `CREDMON_COMPLETE` once every
 * credential it found due has been tried, or after `completeWaitMs` (20 s) if some are still running or
 * queued.
 *
 * Isolation: every renewal has a deadline (an AbortSignal); each provider has its own share of the
 * slots, so a hung issuer stalls only its own credentials; a failure is logged once (user, credential,
 * provider, reason), retried with backoff, and never deletes anything. A refused refresh token
 * (`NEEDS_LOGIN`) and a credential that cannot be read as it is (not JSON, a symlink, too large) wait
 * until its files change. The credmon never deletes a user directory or a credential; it removes only
 * key files of the CredD older than 12 hours, as the Python credmon does.
 */

export interface CredmonOptions {
  config: CredmonConfig;
  log: Log;
  /** Epoch milliseconds (Date.now). */
  clock?: () => number;
  fetch?: typeof fetch;
  /**
   * Providers by name, in addition to (or instead of) the OAuth2 providers built from `config.oauth2`;
   * the local-issuer and client-credentials providers are given here.
   */
  providers?: readonly CredentialProvider[];
  metrics?: Metrics;
  /** Deadline of one renewal, in milliseconds (default 60 s). */
  callTimeoutMs?: number;
  /** Renewals in flight at once, in all (default 64) and per provider (default 8). */
  concurrency?: { total?: number; perProvider?: number };
  /** How long `close()` waits for the renewals in flight before aborting them (default 30 s). */
  drainTimeoutMs?: number;
  /** First retry delay and the longest one, in seconds (default 10 and 600). */
  retry?: { baseSeconds?: number; capSeconds?: number };
  /** The process id written to `pid` (default process.pid). */
  pid?: number;
  /** Random source for the backoff jitter (tests). */
  random?: () => number;
  /**
   * How long a pass waits for the renewals it found due before touching `CREDMON_COMPLETE` anyway, in
   * milliseconds (default 20 s, the CredD's poll budget): a hung issuer, or a provider with more due
   * credentials than slots, must not keep the CredD and the master waiting for hours.
   */
  completeWaitMs?: number;
  /**
   * How long a pass lets the renewals of user directories it has not seen before run before it lists
   * the known ones, in milliseconds (default 100).
   */
  firstCredentialsWaitMs?: number;
  /** Lists a directory (default readdirSync with file types); a seam for tests of a failing listing. */
  readDir?: (path: string) => Dirent[];
}

export interface Credmon {
  /** Checks the directory, writes `pid`, removes `CREDMON_COMPLETE`, prepares the providers, runs the first pass. */
  start(): Promise<void>;
  /**
   * One full pass now (SIGHUP); resolves once `CREDMON_COMPLETE` is touched: when the renewals the pass
   * found due have ended, or `completeWaitMs` after its listing, whichever comes first.
   */
  rescan(reason?: string): Promise<void>;
  /** Stops starting work, finishes (or aborts at the drain deadline) what is in flight; idempotent. */
  close(): Promise<void>;
  snapshot(): StatusSnapshot;
  /** Undefined once the first pass is complete. */
  notReady(): StatusError | undefined;
  /** Credentials by provider and state (for metrics). */
  countsByProvider(): Map<string, Map<CredentialState, number>>;
  /** Renewals in flight now. */
  inFlight(): number;
}

/** Key files of the CredD older than this are removed (a login that was never finished). */
export const STALE_KEY_FILE_MS = 12 * 3600 * 1000;
/**
 * Longest a pass keeps the event loop between two yields: the renewals it started (each a few steps of
 * file I/O) and the web app's requests go on while it lstats thousands of user directories.
 */
const PASS_SLICE_MS = 2;
/** How long a pass waits for the renewals of users it has not seen before, before it lists the others. */
export const FIRST_CREDENTIALS_WAIT_MS = 100;
/** Every this many periodic passes, one lists every user directory, changed or not. */
const DEEP_PASS_EVERY = 10;
/** Credentials read at once after a pass found them new or changed. */
const LOOK_CONCURRENCY = 16;
/** Longest setTimeout delay (2^31 − 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;
/** Errors about the credential itself: not retried until one of its files changes. */
const WAITS_FOR_CHANGE = new Set(['NEEDS_LOGIN', 'TOKEN_INVALID', 'TOKEN_NOT_FOUND', 'FILE_UNSAFE']);

interface Entry {
  key: string;
  user: string;
  cred: CredName;
  provider: CredentialProvider;
  /** Identity of `.top`, `.use` and `.meta` as last seen (empty when absent). */
  ids: string;
  topMtimeMs: number;
  dueAt: number;
  version: number;
  state: CredentialState;
  issuedAt?: number | undefined;
  expiresAt?: number | undefined;
  lastRenewal?: number | undefined;
  lastError?: StatusError | undefined;
  failingSince?: number | undefined;
  failures: number;
  lastDelaySeconds?: number | undefined;
  /** The error last logged, so a repeated failure is logged once. */
  logged?: string | undefined;
  /** `ids` when a failure made it wait for a change of its files. */
  blockedOn?: string | undefined;
  queued: boolean;
  running: boolean;
  /** Its files changed while it was being renewed: look again when it finishes. */
  dirty: boolean;
  seen: number;
  /** Settles when the attempt queued for it ends (a pass waits for these). */
  attempt?: Promise<void> | undefined;
  settle?: (() => void) | undefined;
}

export function createCredmon(options: CredmonOptions): Credmon {
  const { config, log } = options;
  const clock = options.clock ?? Date.now;
  const fetchImpl = options.fetch ?? fetch;
  const callTimeoutMs = options.callTimeoutMs ?? 60_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const retryBase = options.retry?.baseSeconds ?? 10;
  const retryCap = options.retry?.capSeconds ?? 600;
  const random = options.random ?? Math.random;
  const completeWaitMs = options.completeWaitMs ?? 20_000;
  const firstCredentialsWaitMs = options.firstCredentialsWaitMs ?? FIRST_CREDENTIALS_WAIT_MS;
  const readDir = options.readDir ?? ((path: string) => readdirSync(path, { withFileTypes: true }));
  const { credDir } = config;

  // HTCondor's knobs are case-insensitive, so `<P>_CLIENT_ID` names provider P in any case (the Python
  // credmon asks param() for `<provider>_CLIENT_ID`); the local and client provider lists are exact.
  const keyOf = (kind: string, name: string) =>
    kind === 'oauth2' ? `oauth2:${name.toUpperCase()}` : `${kind}:${name}`;
  const providers = new Map<string, CredentialProvider>();
  for (const p of config.oauth2) providers.set(keyOf('oauth2', p.name), createOAuth2Provider(p));
  for (const p of options.providers ?? []) providers.set(keyOf(p.kind, p.name), p);
  /** The provider of a credential, as start_credmon_process assigns them (findProviderConfig), or why there is none. */
  const providerFor = (name: string): CredentialProvider | string => {
    const found = findProviderConfig(config, name);
    if (found === undefined)
      return `no provider named ${name} is configured (${name}_CLIENT_ID, LOCAL_CREDMON_PROVIDER_NAMES, CLIENT_CREDMON_PROVIDER_NAMES)`;
    return (
      providers.get(keyOf(found.kind, found.name)) ??
      `the ${found.kind} provider ${found.name} is not available in this build`
    );
  };

  const entries = new Map<string, Entry>();
  const heap = new DueHeap();
  const queue = new ProviderQueue(options.concurrency?.total ?? 64, options.concurrency?.perProvider ?? 8);
  const skipped = new Map<string, string>();
  const drain = new AbortController();
  const startedAt = clock() / 1000;
  let generation = 0;
  /** A listing is running; a SIGHUP meanwhile sets `freshAsked`, and the listing serves new users at once. */
  let listing = false;
  let freshAsked = false;
  let firstPassDone = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  let dueTimerAt = Number.POSITIVE_INFINITY;
  let scanTimer: NodeJS.Timeout | undefined;
  let listingTail: Promise<unknown> = Promise.resolve();
  let queuedPass: { deep: boolean; done: Promise<void> } | undefined;
  let periodic = 0;
  /** Each user directory as last listed: its identity and the credentials found in it. */
  const userDirs = new Map<string, { id: string; keys: Set<string> }>();

  const skipOnce = (path: string, reason: string, user?: string, cred?: string) => {
    if (skipped.get(path) === reason) return;
    skipped.set(path, reason);
    log.emit({ type: 'credmon.skipped', level: 'warning', path, reason, user, cred });
  };

  const ctxFor = (signal: AbortSignal): ProviderContext => ({
    credDir,
    log,
    clock,
    fetch: fetchImpl,
    signal,
  });

  // ---- the schedule ----------------------------------------------------------------------------------

  const schedule = (entry: Entry, at: number) => {
    entry.dueAt = at;
    entry.version++;
    if (Number.isFinite(at)) {
      heap.push({ at, key: entry.key, version: entry.version });
      armTimer();
    }
  };

  const armTimer = () => {
    if (closed) return;
    const next = heap.peek();
    if (next === undefined) return;
    if (dueTimer !== undefined && dueTimerAt <= next.at) return;
    if (dueTimer !== undefined) clearTimeout(dueTimer);
    dueTimerAt = next.at;
    dueTimer = setTimeout(onDue, Math.min(MAX_TIMER_MS, Math.max(0, next.at - clock())));
    dueTimer.unref?.();
  };

  function onDue() {
    dueTimer = undefined;
    dueTimerAt = Number.POSITIVE_INFINITY;
    const now = clock();
    for (;;) {
      const top = heap.peek();
      if (top === undefined || top.at > now) break;
      heap.pop();
      const entry = entries.get(top.key);
      if (entry === undefined || entry.version !== top.version) continue;
      enqueue(entry);
    }
    armTimer();
  }

  const enqueue = (entry: Entry): Promise<void> => {
    if (entry.attempt !== undefined) return entry.attempt;
    entry.attempt = new Promise<void>((resolve) => {
      entry.settle = resolve;
    });
    if (closed) {
      finishAttempt(entry);
      return Promise.resolve();
    }
    entry.queued = true;
    queue.push(providerKey(entry.provider), () => run(entry));
    return entry.attempt;
  };

  const finishAttempt = (entry: Entry) => {
    const settle = entry.settle;
    entry.attempt = undefined;
    entry.settle = undefined;
    settle?.();
  };

  const run = async (entry: Entry): Promise<void> => {
    entry.queued = false;
    if (closed || entries.get(entry.key) !== entry) {
      finishAttempt(entry);
      return;
    }
    entry.running = true;
    const before = entry.state;
    entry.state = 'renewing';
    const signal = AbortSignal.any([AbortSignal.timeout(callTimeoutMs), drain.signal]);
    const ref: CredentialRef = { user: entry.user, cred: entry.cred };
    try {
      const outcome = await entry.provider.renew(ref, ctxFor(signal));
      succeed(entry, outcome.issuedAt, outcome.expiresAt);
    } catch (err) {
      fail(entry, err, before, signal);
    } finally {
      entry.running = false;
      finishAttempt(entry);
      if (entry.dirty && !closed) {
        entry.dirty = false;
        await look(entry).catch(() => undefined);
      }
    }
  };

  const succeed = (entry: Entry, issuedAt: number | undefined, expiresAt: number) => {
    const now = clock();
    entry.state = 'ok';
    entry.issuedAt = issuedAt ?? Math.floor(now / 1000);
    entry.expiresAt = expiresAt;
    entry.lastRenewal = now / 1000;
    entry.lastError = undefined;
    entry.failingSince = undefined;
    entry.failures = 0;
    entry.lastDelaySeconds = undefined;
    entry.logged = undefined;
    entry.blockedOn = undefined;
    entry.ids = identities(entry.user, entry.cred.name).ids;
    const at = renewalTime(
      { issuedAt: entry.issuedAt, expiresAt },
      config.renewFraction,
      config.credentialRefreshSeconds,
      now,
    );
    // Never in a loop: a token issued already expired is tried again after a retry delay.
    schedule(entry, at <= now ? now + retryBase * 1000 : at);
    options.metrics?.observeRenewal(entry.provider.name, 'renewed');
    log.emit({
      type: 'credmon.renewed',
      level: 'info',
      user: entry.user,
      cred: entry.cred.name,
      provider: entry.provider.name,
      expires_in: Math.round(expiresAt - now / 1000),
      next_renewal_in: Math.round((entry.dueAt - now) / 1000),
    });
  };

  const fail = (entry: Entry, err: unknown, before: CredentialState, signal: AbortSignal) => {
    const now = clock();
    const error = describe(err, signal, callTimeoutMs);
    entry.failures++;
    entry.failingSince ??= now / 1000;
    entry.lastError = error;
    options.metrics?.observeRenewal(entry.provider.name, 'failed', error.code);
    const again = `${error.code}:${error.message}`;
    const firstTime = entry.logged !== again;
    entry.logged = again;
    if (WAITS_FOR_CHANGE.has(error.code)) {
      entry.blockedOn = identities(entry.user, entry.cred.name).ids;
      entry.state = error.code === 'NEEDS_LOGIN' ? 'needs-login' : 'broken';
      schedule(entry, Number.POSITIVE_INFINITY);
      if (!firstTime) return;
      if (error.code === 'NEEDS_LOGIN') {
        log.emit({
          type: 'credmon.needs-login',
          level: 'error',
          user: entry.user,
          cred: entry.cred.name,
          provider: entry.provider.name,
          message: error.message,
          note: 'its .top is kept; renewed again once a new login replaces it',
        });
      } else {
        log.emit(failedEvent(entry, error, { note: 'not tried again until its files change' }));
      }
      return;
    }
    const retryAfter = isTokenwardenError(err) ? err.retryAfterSeconds : undefined;
    const delay = backoff(
      entry.failures,
      {
        baseSeconds: retryBase,
        capSeconds: retryCap,
        retryAfterSeconds: retryAfter,
        mode: 'decorrelated',
        previousSeconds: entry.lastDelaySeconds,
      },
      random,
    );
    entry.lastDelaySeconds = delay;
    entry.state = before === 'needs-login' ? 'needs-login' : 'failing';
    // A token still valid is kept; retried sooner than it expires when the backoff allows.
    schedule(entry, now + Math.max(1, delay) * 1000);
    if (!firstTime || closed) return;
    log.emit(
      failedEvent(entry, error, {
        retry_in: Math.round(delay),
        note: isRetryable(err) ? undefined : 'logged once; retried with backoff',
      }),
    );
  };

  // ---- the pass --------------------------------------------------------------------------------------

  /** Re-reads one credential whose files changed (or that is new), and schedules it. */
  const look = async (entry: Entry, known?: Facts): Promise<void> => {
    const facts = known ?? identities(entry.user, entry.cred.name);
    entry.ids = facts.ids;
    entry.topMtimeMs = facts.top?.mtimeMs ?? 0;
    if (entry.blockedOn !== undefined) {
      if (entry.blockedOn === facts.ids) return;
      entry.blockedOn = undefined;
      entry.failures = 0;
      entry.logged = undefined;
      entry.lastError = undefined;
      entry.failingSince = undefined;
      entry.lastDelaySeconds = undefined;
    }
    const now = clock();
    const usePath = join(credDir, entry.user, `${entry.cred.name}.use`);
    let text: string | undefined;
    if (facts.use !== undefined) {
      try {
        text = readFileWithIdentitySync(usePath, { maxBytes: MAX_CRED_FILE_BYTES })?.text;
      } catch {
        text = undefined;
      }
    }
    const due = credentialDue({
      topMtimeMs: entry.topMtimeMs,
      use: facts.use === undefined ? undefined : { text, mtimeMs: facts.use.mtimeMs },
      renewFraction: config.renewFraction,
      credentialRefreshSeconds: config.credentialRefreshSeconds,
      now,
    });
    if (due.times !== undefined) {
      entry.issuedAt = due.times.issuedAt;
      entry.expiresAt = due.times.expiresAt;
      if (entry.state === 'missing' || entry.state === 'renewing') entry.state = 'ok';
    } else if (entry.lastRenewal === undefined) {
      entry.state = 'missing';
    }
    let at = due.at;
    if (entry.provider.dueAt !== undefined) {
      try {
        const override = await entry.provider.dueAt(
          { user: entry.user, cred: entry.cred },
          ctxFor(AbortSignal.timeout(callTimeoutMs)),
        );
        if (override !== undefined) at = override;
      } catch (err) {
        // The renewal will meet the same problem and report it; it is due now.
        at = now;
        void err;
      }
    }
    if (entry.failures > 0 && entry.dueAt > at && Number.isFinite(entry.dueAt) && due.reason === 'schedule') {
      // A failing credential keeps its backoff unless its files say it is due sooner.
      return;
    }
    schedule(entry, at);
  };

  /**
   * Lists the credential directory once and queues what is due; returns the attempts the pass waits
   * for before `CREDMON_COMPLETE`. A quick pass lists only the user directories whose identity (inode,
   * mtime, ctime) changed since they were last listed: the CredD and the web app add a credential by
   * renaming a file into the user's directory, which changes it. A deep pass lists every one (at
   * start, and every DEEP_PASS_EVERY periodic passes, for a file edited in place).
   */
  /**
   * The user directories among the credential directory's entries; on the way, stale key files are
   * swept, and what is neither (a link, a bad name) is reported once.
   */
  const userDirNames = (top: Dirent[]): string[] => {
    const names: string[] = [];
    for (const d of top) {
      const name = d.name;
      if (name === PID_FILE || name === COMPLETE_FILE || name === SESSION_KEY_FILE) continue;
      if (KEY_FILE_NAME_RE.test(name)) {
        if (d.isFile()) sweepKeyFile(name);
        continue;
      }
      if (name.startsWith('.') || name.endsWith('.mark')) continue;
      if (d.isSymbolicLink()) {
        skipOnce(join(credDir, name), 'a symbolic link, not a user directory');
        continue;
      }
      if (!d.isDirectory()) continue;
      if (!isValidUserName(name)) {
        skipOnce(join(credDir, name), 'not a valid user name');
        continue;
      }
      names.push(name);
    }
    return names;
  };

  const list = async (deep: boolean): Promise<Promise<void>[]> => {
    listing = true;
    try {
      return await listOnce(deep);
    } finally {
      listing = false;
    }
  };

  const listOnce = async (deep: boolean): Promise<Promise<void>[]> => {
    const started = clock();
    generation++;
    const gen = generation;
    let top: Dirent[];
    try {
      top = readDir(credDir);
    } catch (err) {
      skipOnce(
        credDir,
        `cannot list the credential directory: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
      return [];
    }
    skipped.delete(credDir);
    let changed: Array<[Entry, Facts]> = [];
    let sliceStart = performance.now();
    const seenUsers = new Set<string>();
    /** The user directories of this listing: those not known yet first (see below), then the others. */
    const fresh: string[] = [];
    const known: string[] = [];
    for (const name of userDirNames(top)) {
      seenUsers.add(name);
      (userDirs.has(name) ? known : fresh).push(name);
    }
    const visit = async (name: string): Promise<void> => {
      // Taken before the listing: a change made while it runs makes the next pass list it again.
      const dirId = idOf(statOf(join(credDir, name)));
      const before = userDirs.get(name);
      if (!deep && before !== undefined && before.id === dirId) {
        for (const key of before.keys) {
          const entry = entries.get(key);
          if (entry !== undefined) entry.seen = gen;
        }
      } else {
        const keys = new Set<string>();
        if (listUser(name, gen, changed, keys)) {
          userDirs.set(name, { id: dirId, keys });
        } else {
          // Not listed (EMFILE, EACCES…): its credentials stay as they were, and an identity that
          // matches nothing makes the next pass, quick or deep, list it again.
          const kept = before?.keys ?? new Set<string>();
          for (const key of kept) {
            const entry = entries.get(key);
            if (entry !== undefined) entry.seen = gen;
          }
          userDirs.set(name, { id: '', keys: kept });
        }
      }
      if (performance.now() - sliceStart >= PASS_SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    };
    // Read what changed, a few at a time (each reads a .use and, for OAuth2, a .meta).
    const lookAtChanged = async (): Promise<Entry[]> => {
      const batch = changed;
      changed = [];
      let next = 0;
      const lookers = Array.from({ length: Math.min(LOOK_CONCURRENCY, batch.length) }, async () => {
        while (next < batch.length) {
          const [entry, facts] = batch[next++] as [Entry, Facts];
          if (entry.running) entry.dirty = true;
          else await look(entry, facts).catch(() => undefined);
        }
      });
      await Promise.all(lookers);
      return batch.map(([entry]) => entry);
    };
    // A directory not seen before is a user's first credential, which the CredD (after its SIGHUP) and
    // a job wait on: it is listed, read and started before the known directories are looked at, and the
    // listing lets its renewal finish first (a few steps of file I/O, each of which would otherwise
    // wait for the listing's next yield), for at most `firstCredentialsWaitMs`. Only these are started
    // early: a known credential is started once its directory has been seen in this listing.
    const serveFresh = async (names: string[]) => {
      for (const name of names) await visit(name);
      if (changed.length === 0) return;
      const looked = await lookAtChanged();
      const now = clock();
      const attempts = looked.flatMap((e) =>
        entries.get(e.key) === e && e.dueAt <= now ? [enqueue(e)] : [],
      );
      if (attempts.length > 0) await settledOrAfter(Promise.all(attempts), firstCredentialsWaitMs);
    };
    if (known.length > 0) await serveFresh(fresh);
    else for (const name of fresh) await visit(name);
    for (const name of known) {
      await visit(name);
      // A SIGHUP while this listing runs (the CredD stored another credential): a new user's
      // directory is served now, not after the rest of this listing and the whole next one.
      if (freshAsked) {
        freshAsked = false;
        let again: Dirent[] = [];
        try {
          again = readDir(credDir);
        } catch {
          // The next pass reports it.
        }
        const more = userDirNames(again).filter((n) => !seenUsers.has(n) && !userDirs.has(n));
        for (const n of more) seenUsers.add(n);
        await serveFresh(more);
      }
    }
    for (const user of userDirs.keys()) if (!seenUsers.has(user)) userDirs.delete(user);
    for (const [key, entry] of entries) {
      if (entry.seen !== gen) {
        // Its .top (or the whole user directory) is gone: forget it, delete nothing.
        entry.version++;
        entries.delete(key);
      }
    }
    await lookAtChanged();
    const now = clock();
    const due: Promise<void>[] = [];
    for (;;) {
      const item = heap.peek();
      if (item === undefined || item.at > now) break;
      heap.pop();
      const entry = entries.get(item.key);
      if (entry === undefined || entry.version !== item.version) continue;
      due.push(enqueue(entry));
    }
    for (const entry of entries.values()) if (entry.attempt !== undefined) due.push(entry.attempt);
    armTimer();
    log.emit({
      type: 'credmon.scanned',
      level: 'debug',
      credentials: entries.size,
      due: due.length,
      ms: Math.round(clock() - started),
    });
    return due;
  };

  /** Lists one user directory into `keys`; false when it could not be listed (its credentials are kept). */
  const listUser = (
    user: string,
    gen: number,
    changed: Array<[Entry, Facts]>,
    keys: Set<string>,
  ): boolean => {
    const dir = join(credDir, user);
    let files: Dirent[];
    try {
      files = readDir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Vanished mid-scan (the CredD sweeps users), or replaced by a file: its credentials are gone.
      if (code === 'ENOENT' || code === 'ENOTDIR') return true;
      skipOnce(dir, `cannot list it: ${code ?? err}`, user);
      return false;
    }
    skipped.delete(dir);
    for (const f of files) {
      const fileName = f.name;
      if (!fileName.endsWith('.top') || fileName.startsWith('.')) continue;
      const stem = fileName.slice(0, -4);
      const path = join(dir, fileName);
      const parsed = parseCredName(stem, config.allowSpecialCharNames);
      if (!parsed.ok) {
        skipOnce(path, `not a valid credential name (${parsed.problem})`, user);
        continue;
      }
      if (f.isSymbolicLink()) {
        skipOnce(path, 'a symbolic link', user, stem);
        continue;
      }
      if (!f.isFile()) {
        skipOnce(path, 'not a regular file', user, stem);
        continue;
      }
      const provider = providerFor(parsed.value.provider);
      if (typeof provider === 'string') {
        skipOnce(path, provider, user, stem);
        continue;
      }
      const facts = identities(user, stem);
      if (facts.top === undefined) continue;
      if (facts.top.size > MAX_CRED_FILE_BYTES) {
        skipOnce(path, `larger than ${MAX_CRED_FILE_BYTES} bytes`, user, stem);
        continue;
      }
      const key = `${user}/${stem}`;
      keys.add(key);
      let entry = entries.get(key);
      if (entry !== undefined && entry.provider !== provider) {
        entry.version++;
        entries.delete(key);
        entry = undefined;
      }
      if (entry === undefined) {
        entry = {
          key,
          user,
          cred: parsed.value,
          provider,
          ids: '',
          topMtimeMs: 0,
          dueAt: Number.POSITIVE_INFINITY,
          version: 0,
          state: 'missing',
          failures: 0,
          queued: false,
          running: false,
          dirty: false,
          seen: gen,
        };
        entries.set(key, entry);
        changed.push([entry, facts]);
        continue;
      }
      entry.seen = gen;
      if (entry.ids !== facts.ids) {
        skipped.delete(path);
        changed.push([entry, facts]);
      }
    }
    return true;
  };

  /** lstat of the three files of one credential: what a pass compares to find what changed. */
  const identities = (user: string, name: string): Facts => {
    const base = join(credDir, user, name);
    const top = statOf(`${base}.top`);
    const use = statOf(`${base}.use`);
    const meta = statOf(`${base}.meta`);
    return { top, use, ids: `${idOf(top)}|${idOf(use)}|${idOf(meta)}` };
  };

  const sweepKeyFile = (name: string) => {
    const path = join(credDir, name);
    const st = statOf(path);
    if (st === undefined || !st.isFile()) return;
    if (clock() - st.ctimeMs <= STALE_KEY_FILE_MS) return;
    try {
      unlinkSync(path);
      log.emit({ type: 'credmon.key-file-removed', level: 'info', file: name });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') skipOnce(path, `a stale key file that cannot be removed: ${code ?? err}`);
    }
  };

  /**
   * One pass: listings run one at a time (a request while one is queued joins it), and a pass resolves
   * once every attempt it found due has ended, or `completeWaitMs` has passed, and `CREDMON_COMPLETE`
   * is touched. The bound keeps a hung issuer (or 2,000 credentials queued behind one provider's
   * slots) from holding back `CREDMON_COMPLETE`, which the master and the CredD wait on; those renewals
   * go on after it. Waiting never holds up the next listing, so a SIGHUP is served at once.
   */
  const runPass = (deep: boolean): Promise<void> => {
    if (closed) return Promise.resolve();
    if (queuedPass !== undefined) {
      queuedPass.deep ||= deep;
      return queuedPass.done;
    }
    const slot: { deep: boolean; done: Promise<void> } = { deep, done: Promise.resolve() };
    const listed = listingTail.then(async () => {
      if (queuedPass === slot) queuedPass = undefined;
      if (closed) return [];
      try {
        return await list(slot.deep);
      } finally {
        armScan();
      }
    });
    listingTail = listed.then(
      () => undefined,
      () => undefined,
    );
    slot.done = listed.then(async (due) => {
      await settledOrAfter(Promise.all(due), completeWaitMs);
      if (closed) return;
      await markComplete(credDir);
      firstPassDone = true;
    });
    queuedPass = slot;
    return slot.done;
  };

  const armScan = () => {
    if (closed) return;
    if (scanTimer !== undefined) clearTimeout(scanTimer);
    scanTimer = setTimeout(() => {
      scanTimer = undefined;
      periodic++;
      runPass(periodic % DEEP_PASS_EVERY === 0).catch((err: unknown) =>
        skipOnce(credDir, `a pass failed: ${(err as Error).message}`),
      );
    }, config.scanIntervalSeconds * 1000);
    scanTimer.unref?.();
  };

  // ---- the service -----------------------------------------------------------------------------------

  const snapshot = (): StatusSnapshot => {
    const now = clock() / 1000;
    const rows: CredentialRow[] = [];
    const groups = new Map<string, { kinds: Set<string>; problem?: StatusError | undefined }>();
    for (const e of entries.values()) {
      rows.push({
        id: e.key,
        group: e.user,
        path: join(credDir, e.user, `${e.cred.name}.use`),
        state: e.state,
        issuedAt: e.issuedAt,
        expiresAt: e.expiresAt,
        lastRenewal: e.lastRenewal,
        nextRenewalAt: Number.isFinite(e.dueAt) ? e.dueAt / 1000 : undefined,
        lastError: e.lastError,
        failingSince: e.failingSince,
        failures: e.failures > 0 ? e.failures : undefined,
      });
      const g = groups.get(e.user) ?? { kinds: new Set<string>() };
      g.kinds.add(e.provider.kind);
      groups.set(e.user, g);
    }
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const groupList: GroupStatus[] = [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, g]) => ({ name, kind: [...g.kinds].sort().join('+') }));
    const base = {
      service: 'credmon' as const,
      generatedAt: now,
      startedAt,
      configFile: credDir,
      rows,
      groups: groupList,
    };
    return { ...base, warnings: computeWarnings(base, now) };
  };

  const drainNow = async () => {
    if (queue.running() === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainTimeoutMs);
    });
    await Promise.race([queue.idle(), deadline]);
    clearTimeout(timer);
    if (queue.running() > 0) {
      drain.abort(new TokenwardenError('TIMEOUT', 'the credmon is stopping'));
      await queue.idle();
    }
  };

  return {
    async start() {
      await checkCredDir(credDir);
      await markIncomplete(credDir);
      await writePidFile(credDir, options.pid ?? process.pid);
      // Keys readable or created, secret files readable: a CONFIG_INVALID here is exit 99.
      for (const p of providers.values()) await p.prepare?.({ credDir, log, clock, fetch: fetchImpl });
      log.emit({
        type: 'credmon.started',
        level: 'info',
        cred_dir: credDir,
        providers: `oauth2=${config.oauth2.length} local=${config.local.length} client=${config.client.length}`,
        pid: options.pid ?? process.pid,
      });
      await runPass(true);
    },
    async rescan(reason = 'SIGHUP') {
      log.emit({ type: 'credmon.rescan', level: 'debug', reason });
      if (listing) freshAsked = true;
      await runPass(false);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        if (dueTimer !== undefined) clearTimeout(dueTimer);
        if (scanTimer !== undefined) clearTimeout(scanTimer);
        queue.clear();
        for (const entry of entries.values()) if (entry.queued) finishAttempt(entry);
        await drainNow();
        await listingTail;
      })();
      return closing;
    },
    snapshot,
    notReady() {
      if (firstPassDone) return undefined;
      return {
        code: 'STARTING',
        message: 'the first pass over the credential directory has not finished',
      };
    },
    countsByProvider() {
      const out = new Map<string, Map<CredentialState, number>>();
      for (const e of entries.values()) {
        const byState = out.get(e.provider.name) ?? new Map<CredentialState, number>();
        byState.set(e.state, (byState.get(e.state) ?? 0) + 1);
        out.set(e.provider.name, byState);
      }
      return out;
    },
    inFlight: () => queue.running(),
  };
}

/** Resolves when `work` settles or after `ms`, whichever is first; the timer never holds the process. */
async function settledOrAfter(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref?.();
  });
  try {
    await Promise.race([work.then(() => undefined), bound]);
  } finally {
    clearTimeout(timer);
  }
}

function providerKey(p: CredentialProvider): string {
  return `${p.kind}:${p.name}`;
}

function statOf(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function idOf(st: Stats | undefined): string {
  return st === undefined ? '' : `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** What a failure shows (status, log): its stable code, its message, what to do. Never a secret. */
function describe(err: unknown, signal: AbortSignal, callTimeoutMs: number): StatusError {
  if (isTokenwardenError(err)) return { code: err.code, message: err.message, hint: err.hint };
  if (signal.aborted) {
    return {
      code: 'TIMEOUT',
      message: `no answer within ${Math.round(callTimeoutMs / 1000)} s`,
    };
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return { code: 'FILE_IO', message: (err as Error).message };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** What one lstat of a credential's files found. */
interface Facts {
  top: Stats | undefined;
  use: Stats | undefined;
  ids: string;
}

interface HeapItem {
  at: number;
  key: string;
  version: number;
}

/** A binary min-heap of due times; stale items (an older version of an entry) are skipped when popped. */
class DueHeap {
  private readonly items: HeapItem[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapItem | undefined {
    return this.items[0];
  }

  push(item: HeapItem): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((a[parent] as HeapItem).at <= item.at) break;
      a[i] = a[parent] as HeapItem;
      i = parent;
    }
    a[i] = item;
  }

  pop(): HeapItem | undefined {
    const a = this.items;
    const first = a[0];
    const last = a.pop();
    if (first === undefined || last === undefined || a.length === 0) return first;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last.at;
      if (l < a.length && (a[l] as HeapItem).at < best) {
        m = l;
        best = (a[l] as HeapItem).at;
      }
      if (r < a.length && (a[r] as HeapItem).at < best) m = r;
      if (m === i) break;
      a[i] = a[m] as HeapItem;
      i = m;
    }
    a[i] = last;
    return first;
  }
}

/** The one `credmon.failed` line of a credential's failure; `more` says what happens next. */
function failedEvent(
  entry: Entry,
  error: StatusError,
  more: Pick<CredmonFailedEvent, 'retry_in' | 'note'>,
): CredmonFailedEvent {
  return {
    type: 'credmon.failed',
    level: 'warning',
    user: entry.user,
    cred: entry.cred.name,
    provider: entry.provider.name,
    code: error.code,
    message: error.message,
    hint: error.hint,
    attempt: entry.failures,
    ...more,
  };
}
