import { dirname } from 'node:path';
import {
  type AccountConfig,
  type BrokenToken,
  configError,
  configFailure,
  type RefreshAccountConfig,
  type RenewerConfig,
  type TokenConfig,
} from '../config/index.js';
import {
  asError,
  ClientCache,
  credentialError,
  expiryOf,
  mintToken,
  needsLoginError,
  noCredentialYet,
  openSession,
  type Session,
} from '../credentials/index.js';
import { TokenwardenError } from '../errors.js';
import {
  checkPathSafe,
  checkWriteTarget,
  type FileRead,
  fileIdentity,
  readFileWithIdentity,
  resolveGid,
  resolveUid,
  writeFileAtomic,
} from '../files/index.js';
// Types only: the OIDC client (openid-client) is loaded when an account has work, so that a run whose
// tokens are all fresh stays cheap. explain.ts imports no client.
import { accountErrorContext, explainOAuthError } from '../oidc/explain.js';
import type { RequestContext } from '../oidc/index.js';
import type { Secret } from '../secret.js';
import type { CredentialStore } from '../store/index.js';
import { type DecodedToken, decodeToken, nowSeconds } from '../tokens/index.js';
import { credentialFileIdentity, verdictError, verdictHolds } from './health.js';
import { isNoWorse, type RenewReason, renewReason } from './policy.js';
import {
  type AccountStatusFile,
  type CredentialVerdict,
  type CredentialVerdictKind,
  isEntryOf,
  readAccountStatusFile,
  type TokenStatus,
  updateAccountStatus,
} from './status.js';

export type TokenResult = 'renewed' | 'fresh' | 'failed';

export interface TokenOutcome {
  token: string;
  account: string;
  path: string;
  result: TokenResult;
  reason?: RenewReason | undefined;
  expiresAt?: number | undefined;
  error?: TokenwardenError | undefined;
  /** Failed because its section (or its account's) in config.ini is broken. */
  broken?: boolean | undefined;
  /** Not attempted because the run was asked to stop (SIGTERM, SIGINT). */
  stopped?: boolean | undefined;
  /** Something that works but should be fixed (a min_lifetime that renews on every run). */
  warning?: string | undefined;
}

/** An account that cannot renew, found while none of its tokens was due (so no token failed for it). */
export interface AccountProblem {
  account: string;
  error: TokenwardenError;
}

export interface RenewResult {
  /** One per selected token, broken ones included, in file order. */
  outcomes: TokenOutcome[];
  /** Accounts known to be unable to renew whose tokens are all still fresh. */
  accounts: AccountProblem[];
}

export interface RenewOptions {
  config: RenewerConfig;
  /** Holds the refresh-token accounts' credentials. */
  store: CredentialStore;
  /** Client secret of a client-credentials account (inline or from `client_secret_file`). */
  clientSecret: (account: AccountConfig & { kind: 'client_credentials' }) => Promise<Secret>;
  clock?: () => number;
  fetch?: typeof fetch;
  /** The run's deadline: no new work starts after it fires; requests in flight and lock waits end. */
  signal?: AbortSignal;
  /**
   * Asked to stop (SIGTERM): no new work starts after it fires, but a request in flight finishes and is
   * persisted (its rotated refresh token saved, its token file written). The tokens not done fail with
   * `stopped` set.
   */
  stop?: AbortSignal;
  /** How many accounts are worked on at once (tokens of one account are always done one at a time). */
  concurrency?: number;
  /** Renew even tokens that are still fresh. */
  force?: boolean;
  /** Only these tokens (names); all when empty. */
  only?: readonly string[];
  /** Accounts that cannot be used in this run (e.g. an unreadable password file): their tokens fail. */
  unusable?: ReadonlyMap<string, TokenwardenError>;
  /**
   * Identity of each refresh account's password file, taken before its password was read. With it, the
   * verdict of a decryption is remembered and reused while neither file changes; without it, an account
   * whose tokens are all fresh is not checked.
   */
  passwordIdentities?: ReadonlyMap<string, string>;
  /** Called as each token finishes (progress output, metrics). */
  onOutcome?: (outcome: TokenOutcome) => void;
  /**
   * OAuth clients to use, kept by the caller across runs (a daemon calling renewTokens repeatedly
   * discovers each issuer once); a cache for this run alone when absent.
   */
  clients?: ClientCache;
}

interface Candidate {
  token: TokenConfig;
  reason: RenewReason | undefined;
  currentExp: number | undefined;
  /** The token file's identity when it was read ('absent' when there was none). */
  identity?: string | undefined;
  /** Owner and group resolved to ids by the preflight. */
  ids?: { uid?: number; gid?: number };
}

/**
 * The renew orchestrator shared by `renew` (and later `daemon`): decides from the files alone which tokens
 * are due (no network, no decryption when everything is fresh), then works per account, accounts in
 * parallel, each account's tokens one at a time under the account's cross-process lock, re-checking each
 * file after taking the lock because another process may have renewed it meanwhile.
 *
 * Tokens that config.ini breaks fail first, before any network call; the others go on. An account whose
 * tokens are all fresh is still checked (see checkAccount), so that one that cannot renew is reported
 * while its tokens are still valid.
 */
export async function renewTokens(options: RenewOptions): Promise<RenewResult> {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const wanted = (name: string) => !options.only?.length || options.only.includes(name);
  const selected = config.tokens.filter((t) => wanted(t.name));
  const outcomes: TokenOutcome[] = [];
  const accountProblems: AccountProblem[] = [];
  const status = new StatusRecorder(config.stateDir, config.file, clock);
  // Discovery once per issuer: for this run, or for as long as the caller keeps its cache.
  const clients = options.clients ?? new ClientCache();
  const record = (o: TokenOutcome) => {
    outcomes.push(o);
    options.onOutcome?.(o);
  };
  for (const b of config.brokenTokens) if (wanted(b.name)) record(brokenOutcome(b));
  const usable: TokenConfig[] = [];
  for (const t of selected) {
    const unusable = options.unusable?.get(t.account);
    if (unusable !== undefined) record(fail(t, unusable, status));
    else usable.push(t);
  }
  const safeDirs = new Map<string, Promise<boolean>>();
  const candidates = await mapLimit(usable, 64, (token) =>
    inspectCandidate(token, clock, options.force, safeDirs),
  );
  const byAccount = new Map<string, Candidate[]>();
  const due: Candidate[] = [];
  const freshAccounts = new Set<string>();
  // One read of each account's status file, all at once: clearing old failures and reusing the verdict
  // of the last decryption both need it.
  await Promise.all(
    [...new Set(candidates.filter((c) => c.reason === undefined).map((c) => c.token.account))].map((a) =>
      status.previous(a),
    ),
  );
  for (const c of candidates) {
    if (c.reason === undefined) {
      record(outcome(c.token, 'fresh', { expiresAt: c.currentExp }));
      freshAccounts.add(c.token.account);
      // A failure on record that this run finds gone (another process renewed it, or the fault was
      // transient) is cleared.
      const previous = (await status.previous(c.token.account)).tokens[c.token.name];
      if (previous !== undefined && (previous.state !== 'ok' || !isEntryOf(previous, config.file))) {
        status.note(c.token, { state: 'ok', expiresAt: c.currentExp });
      }
    } else due.push(c);
  }
  // Before any network call: a token that could not be written must not spend a refresh grant.
  // Owner and group names are resolved once per run (getent may ask LDAP), not once per token.
  const idCache = new Map<string, Promise<number>>();
  const checked = await mapLimit(due, 64, async (c) => {
    try {
      c.ids = await preflight(config, c.token, idCache);
      return c;
    } catch (err) {
      record(fail(c.token, asError(err), status));
      return undefined;
    }
  });
  for (const c of checked) {
    if (c === undefined) continue;
    const list = byAccount.get(c.token.account) ?? [];
    list.push(c);
    byAccount.set(c.token.account, list);
  }
  const work: Array<[string, Candidate[]]> = [...byAccount];
  for (const name of freshAccounts) if (!byAccount.has(name)) work.push([name, []]);
  await mapLimit(work, options.concurrency ?? 16, async ([accountName, due]) => {
    const account = config.accounts.get(accountName);
    if (account === undefined) throw new TokenwardenError('INTERNAL', `account ${accountName} vanished`);
    if (due.length === 0) {
      const problem = await checkAccount(account, options, status);
      if (problem !== undefined) accountProblems.push(problem);
      return;
    }
    for (const o of await renewAccount(account, due, options, clock, status, clients)) record(o);
  });
  // Accounts whose every due token failed the preflight have not been written yet.
  await status.flushAll();
  const order = new Map([...config.tokens, ...config.brokenTokens].map((t) => [t.name, t.line] as const));
  outcomes.sort((a, b) => (order.get(a.token) ?? 0) - (order.get(b.token) ?? 0));
  accountProblems.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  return { outcomes, accounts: accountProblems };
}

function brokenOutcome(b: BrokenToken): TokenOutcome {
  return {
    token: b.name,
    account: b.account ?? '',
    path: b.tokenPath ?? '',
    result: 'failed',
    error: b.error,
    broken: true,
  };
}

/**
 * An account none of whose tokens is due: can it still renew? A missing credential is one stat. Whether
 * the credential decrypts, and whether it is marked needs-login, is remembered from the last decryption
 * (the account's status file) together with the identities of the credential file and of the password
 * file; while both are unchanged, the verdict is reused and no key is derived. Otherwise the record is
 * decrypted once (one KDF run) and the new verdict recorded. No request reaches the issuer.
 */
async function checkAccount(
  account: AccountConfig,
  options: RenewOptions,
  status: StatusRecorder,
): Promise<AccountProblem | undefined> {
  let problem: AccountProblem | undefined;
  if (account.kind === 'refresh' && !options.stop?.aborted) {
    problem = await checkCredential(account, options, status);
  }
  // What this run learnt (failures cleared, a new verdict) is written under the lock, as renew writes;
  // when another process holds it, that process is writing the same news.
  if (status.hasPending(account.name)) {
    await options.store
      .withLock(account.name, () => status.flush(account.name), { timeoutMs: 2_000 })
      .catch(() => status.drop(account.name));
  }
  return problem;
}

async function checkCredential(
  account: RefreshAccountConfig,
  options: RenewOptions,
  status: StatusRecorder,
): Promise<AccountProblem | undefined> {
  const credentialIdentity = await credentialFileIdentity(account.credentialFile);
  if (credentialIdentity === undefined) {
    return { account: account.name, error: noCredentialYet(account, options.config.file) };
  }
  const passwordIdentity = options.passwordIdentities?.get(account.name);
  if (passwordIdentity === undefined) return undefined;
  const cached = (await status.previous(account.name)).credentials?.[account.credentialFile];
  if (verdictHolds(cached, account, credentialIdentity, passwordIdentity)) {
    const error = verdictError(cached);
    return error === undefined ? undefined : { account: account.name, error };
  }
  let error: TokenwardenError | undefined;
  let verdict: CredentialVerdictKind = 'ok';
  try {
    const record = await options.store.load(account.name);
    if (record === undefined)
      return { account: account.name, error: noCredentialYet(account, options.config.file) };
    if (record.needsLogin) {
      verdict = 'needs-login';
      error = needsLoginError(account, record, options.config.file);
    }
  } catch (err) {
    error = credentialError(account, asError(err), options.config.file);
    if (error.code !== 'STORE_DECRYPT_FAILED') return { account: account.name, error };
    verdict = 'decrypt-failed';
  }
  status.verdict(account, credentialIdentity, passwordIdentity, verdict, error);
  return error === undefined ? undefined : { account: account.name, error };
}

/**
 * Resolves `owner`/`group` and checks that `token_path` can be written (its directory exists; it is not
 * a symlink, not a non-file, not someone else's in a world-writable directory). Errors name the config
 * file, line, section and option.
 */
async function preflight(
  config: RenewerConfig,
  token: TokenConfig,
  idCache: Map<string, Promise<number>>,
): Promise<{ uid?: number; gid?: number }> {
  const section = `token ${token.name}`;
  const ids: { uid?: number; gid?: number } = {};
  for (const [option, value, resolveId] of [
    ['owner', token.owner, resolveUid],
    ['group', token.group, resolveGid],
  ] as const) {
    if (value === undefined) continue;
    try {
      const key = `${option}:${value}`;
      let id = idCache.get(key);
      if (id === undefined) {
        id = resolveId(value);
        idCache.set(key, id);
      }
      ids[option === 'owner' ? 'uid' : 'gid'] = await id;
    } catch (err) {
      const e = asError(err);
      throw configError(config.file, token.line, section, `${option}: ${e.message}`, e.hint);
    }
  }
  try {
    await checkWriteTarget(token.tokenPath, writeOptions(token, ids));
  } catch (err) {
    const e = asError(err);
    throw configFailure(e.code, config.file, token.line, section, `token_path: ${e.message}`, {
      cause: e,
      ...(e.hint ? { hint: e.hint } : {}),
    });
  }
  return ids;
}

/** An existing token file keeps the owner, group and mode the config does not set. */
function writeOptions(token: TokenConfig, ids: { uid?: number; gid?: number } = {}) {
  return { ...(token.mode === undefined ? {} : { mode: token.mode }), ...ids, keepExisting: true };
}

async function inspectCandidate(
  token: TokenConfig,
  clock: () => number,
  force?: boolean,
  safeDirs?: Map<string, Promise<boolean>>,
): Promise<Candidate> {
  const { current, identity } = await readCurrent(token.tokenPath, safeDirs);
  const currentExp = typeof current === 'object' ? current.claims.exp : undefined;
  const reason = renewReason(current, token, nowSeconds(clock), force);
  return { token, reason, currentExp, identity };
}

async function readCurrent(
  path: string,
  safeDirs?: Map<string, Promise<boolean>>,
): Promise<{ current: DecodedToken | 'missing' | 'unreadable'; identity?: string | undefined }> {
  // A token reached through a directory another user planted is not ours to trust as fresh: counted as
  // unreadable, it is due, and the preflight refuses it with the reason (docs/architecture.md invariant 9).
  if (!(await isSafeDirectory(dirname(path), safeDirs))) return { current: 'unreadable' };
  let read: FileRead | undefined;
  try {
    read = await readFileWithIdentity(path, { maxBytes: 64 * 1024 });
  } catch {
    return { current: 'unreadable' };
  }
  if (read === undefined) return { current: 'missing', identity: 'absent' };
  if (read.text.trim() === '') return { current: 'missing', identity: read.identity };
  try {
    return { current: decodeToken(read.text), identity: read.identity };
  } catch {
    return { current: 'unreadable', identity: read.identity };
  }
}

/** checkPathSafe of a token directory, once per directory per run when `memo` is given. */
function isSafeDirectory(dir: string, memo?: Map<string, Promise<boolean>>): Promise<boolean> {
  let verdict = memo?.get(dir);
  if (verdict === undefined) {
    verdict = checkPathSafe(dir, 'read').then(
      () => true,
      () => false,
    );
    memo?.set(dir, verdict);
  }
  return verdict;
}

/**
 * Is the token file still exactly what the candidate saw? Then its decision stands (time only makes a due
 * token more due), and the file need not be read again under the lock.
 */
async function unchangedSince(c: Candidate): Promise<boolean> {
  if (c.identity === undefined) return false;
  const now = await fileIdentity(c.token.tokenPath).catch(() => null);
  if (now === null) return false;
  return (now ?? 'absent') === c.identity;
}

function outcome(token: TokenConfig, result: TokenResult, extra: Partial<TokenOutcome> = {}): TokenOutcome {
  return { token: token.name, account: token.account, path: token.tokenPath, result, ...extra };
}

/** Errors that say the issuer cannot be reached at all: the account's other tokens fail at once. */
function isTransportFailure(err: TokenwardenError): boolean {
  return err.code === 'NETWORK' || err.code === 'TIMEOUT' || err.code === 'ISSUER_RESPONSE';
}

async function renewAccount(
  account: AccountConfig,
  due: Candidate[],
  options: RenewOptions,
  clock: () => number,
  status: StatusRecorder,
  clients: ClientCache,
): Promise<TokenOutcome[]> {
  const results: TokenOutcome[] = [];
  const sessionOptions = {
    store: options.store,
    clients,
    clientSecret: options.clientSecret,
    configFile: options.config.file,
  };
  if (options.stop?.aborted) return due.map((c) => stoppedOutcome(c.token, options.stop, status));
  // Each request has the account's timeout; all of them also end when the run's deadline fires. A stop
  // request does not end them: the refresh in flight is finished and saved.
  const ctx: RequestContext = {
    timeoutSeconds: account.timeoutSeconds,
    fetch: options.fetch,
    signal: options.signal,
  };
  const lockSignal = anySignal(options.signal, options.stop);
  try {
    await options.store.withLock(
      account.name,
      async () => {
        const passwordIdentity = options.passwordIdentities?.get(account.name);
        let session: Session;
        try {
          session = await openSession(account, ctx, sessionOptions);
        } catch (err) {
          const e = asError(err);
          if (account.kind === 'refresh') await noteVerdictOf(account, e, passwordIdentity, status);
          throw e;
        }
        let fatal: TokenwardenError | undefined;
        for (const c of due) {
          if (fatal === undefined && options.stop?.aborted) {
            results.push(stoppedOutcome(c.token, options.stop, status));
            continue;
          }
          if (fatal === undefined && options.signal?.aborted) {
            fatal = new TokenwardenError(
              'TIMEOUT',
              'the run reached its deadline before this token was renewed',
            );
          }
          if (fatal !== undefined) {
            results.push(fail(c.token, fatal, status));
            continue;
          }
          try {
            results.push(await renewOne(c, session, options, clock, status));
          } catch (err) {
            const e = explainOAuthError(
              asError(err),
              accountErrorContext(session.account, session.record, c.token.scope, options.config.file),
            );
            if (isTransportFailure(e) || e.code === 'NEEDS_LOGIN' || e.code === 'CREDENTIAL_LOST') fatal = e;
            results.push(fail(c.token, e, status));
          }
        }
        if (account.kind === 'refresh') {
          // What the credential is now (this run may have rotated it, or marked it needs-login).
          // A rotated refresh token that could not be saved leaves a dead one on disk: that is needs-login
          // too, or a later run whose tokens are all fresh would pass as if all were well.
          const kind =
            fatal?.code === 'NEEDS_LOGIN' || fatal?.code === 'CREDENTIAL_LOST' ? 'needs-login' : 'ok';
          const identity = await credentialFileIdentity(account.credentialFile);
          if (identity !== undefined && passwordIdentity !== undefined && session.record !== undefined) {
            const error =
              kind === 'ok'
                ? undefined
                : needsLoginError(
                    account,
                    { needsLogin: { since: new Date(clock()).toISOString(), reason: fatal?.message ?? '' } },
                    options.config.file,
                    fatal,
                  );
            status.verdict(account, identity, passwordIdentity, kind, error);
          }
        }
        // Still under the lock: no other renew of this account writes its status file meanwhile.
        await status.flush(account.name);
      },
      { timeoutMs: 10 * 60_000, ...(lockSignal ? { signal: lockSignal } : {}) },
    );
  } catch (err) {
    const e = asError(err);
    const done = new Set(results.map((r) => r.token));
    const stopped = options.stop?.aborted === true && e.code === 'LOCK_TIMEOUT';
    for (const c of due) {
      if (done.has(c.token.name)) continue;
      results.push(stopped ? stoppedOutcome(c.token, options.stop, status) : fail(c.token, e, status));
    }
    await status.flush(account.name);
  }
  return results;
}

/** Records what opening the session said about the credential (decrypt failed, needs login). */
async function noteVerdictOf(
  account: RefreshAccountConfig,
  error: TokenwardenError,
  passwordIdentity: string | undefined,
  status: StatusRecorder,
): Promise<void> {
  const kind: CredentialVerdictKind | undefined =
    error.code === 'STORE_DECRYPT_FAILED'
      ? 'decrypt-failed'
      : error.code === 'NEEDS_LOGIN'
        ? 'needs-login'
        : undefined;
  if (kind === undefined || passwordIdentity === undefined) return;
  const identity = await credentialFileIdentity(account.credentialFile);
  if (identity !== undefined) status.verdict(account, identity, passwordIdentity, kind, error);
}

function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

function stoppedOutcome(
  token: TokenConfig,
  stop: AbortSignal | undefined,
  status: StatusRecorder,
): TokenOutcome {
  const by = typeof stop?.reason === 'string' ? ` by ${stop.reason}` : '';
  const error = new TokenwardenError('RENEW_FAILED', `not renewed: the run was stopped${by}`);
  return { ...fail(token, error, status), stopped: true };
}

/** Collects the status of each attempt and writes each account's file once, not once per token. */
class StatusRecorder {
  readonly #pending = new Map<string, TokenStatus[]>();
  readonly #verdicts = new Map<string, CredentialVerdict[]>();
  readonly #previous = new Map<string, Promise<AccountStatusFile>>();
  constructor(
    readonly stateDir: string,
    readonly config: string,
    readonly clock: () => number,
  ) {}

  /** The account's status file as it was when this run first looked (read once per run). */
  previous(account: string): Promise<AccountStatusFile> {
    let file = this.#previous.get(account);
    if (file === undefined) {
      file = readAccountStatusFile(this.stateDir, account);
      this.#previous.set(account, file);
    }
    return file;
  }

  note(token: TokenConfig, fields: Partial<TokenStatus> & { state: TokenStatus['state'] }): void {
    const list = this.#pending.get(token.account) ?? [];
    list.push({
      token: token.name,
      account: token.account,
      path: token.tokenPath,
      config: this.config,
      lastAttempt: new Date(this.clock()).toISOString(),
      ...fields,
    });
    this.#pending.set(token.account, list);
  }

  verdict(
    account: RefreshAccountConfig,
    credentialIdentity: string,
    passwordIdentity: string,
    verdict: CredentialVerdictKind,
    error: TokenwardenError | undefined,
  ): void {
    const list = this.#verdicts.get(account.name) ?? [];
    list.push({
      credentialFile: account.credentialFile,
      credentialIdentity,
      passwordFile: account.passwordFile,
      passwordIdentity,
      verdict,
      ...(error
        ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
        : {}),
      at: new Date(this.clock()).toISOString(),
    });
    this.#verdicts.set(account.name, list);
  }

  hasPending(account: string): boolean {
    return this.#pending.has(account) || this.#verdicts.has(account);
  }

  drop(account: string): void {
    this.#pending.delete(account);
    this.#verdicts.delete(account);
  }

  async flush(account: string): Promise<void> {
    const updates = this.#pending.get(account) ?? [];
    const verdicts = this.#verdicts.get(account) ?? [];
    this.drop(account);
    try {
      await updateAccountStatus(this.stateDir, account, updates, verdicts);
    } catch {
      // Status is informational: failing to record it must not fail a renewal that worked.
    }
  }

  async flushAll(): Promise<void> {
    const accounts = new Set([...this.#pending.keys(), ...this.#verdicts.keys()]);
    await Promise.all([...accounts].map((a) => this.flush(a)));
  }
}

function fail(token: TokenConfig, error: TokenwardenError, status: StatusRecorder): TokenOutcome {
  const state = error.code === 'NEEDS_LOGIN' || error.code === 'CREDENTIAL_LOST' ? 'needs-login' : 'failing';
  status.note(token, { state, lastError: error.message, lastErrorCode: error.code });
  return outcome(token, 'failed', { error });
}

/**
 * The warning for a token renewed on every run: its min_lifetime is at least the lifetime the issuer
 * grants (exp - iat of the token just written). Pure.
 */
export function minLifetimeWarning(
  token: Pick<TokenConfig, 'name' | 'minLifetime'>,
  claims: { iat?: unknown; exp?: unknown },
): string | undefined {
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return undefined;
  const lifetime = claims.exp - claims.iat;
  if (lifetime <= 0 || token.minLifetime < lifetime) return undefined;
  return (
    `[token ${token.name}]: min_lifetime = ${token.minLifetime} is at least the lifetime of the tokens ` +
    `the issuer grants (${lifetime} s), so it is renewed on every run; set min_lifetime below ${lifetime}`
  );
}

async function renewOne(
  c: Candidate,
  session: Session,
  options: RenewOptions,
  clock: () => number,
  status: StatusRecorder,
): Promise<TokenOutcome> {
  const { token } = c;
  // Another process may have renewed it while we waited for the lock.
  const again = (await unchangedSince(c))
    ? c
    : await inspectCandidate(token, clock, options.force && c.reason === 'forced');
  if (again.reason === undefined) {
    status.note(token, { state: 'ok', expiresAt: again.currentExp });
    return outcome(token, 'fresh', { expiresAt: again.currentExp });
  }
  const response = await mintToken(session, token, {
    store: options.store,
    configFile: options.config.file,
  });
  const accessToken = response.accessToken.reveal();
  let decoded: DecodedToken;
  try {
    decoded = decodeToken(accessToken);
  } catch {
    throw new TokenwardenError('ISSUER_RESPONSE', 'the issuer returned an access token that is not a JWT');
  }
  const now = nowSeconds(clock);
  const exp = expiryOf(response, decoded.claims, now);
  if (!isNoWorse(exp, again.currentExp)) {
    throw new TokenwardenError(
      'RENEW_FAILED',
      `the issuer returned a token expiring sooner than the one on disk; kept the current one`,
      { hint: 'lower min_lifetime below the lifetime of the tokens the issuer grants' },
    );
  }
  await writeFileAtomic(
    token.tokenPath,
    token.newline ? `${accessToken}\n` : accessToken,
    writeOptions(token, c.ids),
  );
  const at = new Date(clock()).toISOString();
  status.note(token, { state: 'ok', lastRenewal: at, expiresAt: exp });
  const warning = minLifetimeWarning(token, decoded.claims);
  return outcome(token, 'renewed', { reason: c.reason, expiresAt: exp, ...(warning ? { warning } : {}) });
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
