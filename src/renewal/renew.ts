import type * as oc from 'openid-client';
import {
  type AccountConfig,
  configError,
  configFailure,
  type RenewerConfig,
  type TokenConfig,
} from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import {
  checkWriteTarget,
  type FileRead,
  fileIdentity,
  readFileWithIdentity,
  resolveGid,
  resolveUid,
  writeFileAtomic,
} from '../files/index.js';
import {
  accountErrorContext,
  clientCredentialsGrant,
  createClient,
  explainOAuthError,
  type RequestContext,
  type TokenRequest,
  type TokenResponse,
  tokenExchangeGrant,
} from '../oidc/index.js';
import type { Secret } from '../secret.js';
import type { AccountRecord, CredentialStore } from '../store/index.js';
import { type DecodedToken, decodeToken, nowSeconds } from '../tokens/index.js';
import { isNoWorse, type RenewReason, renewReason } from './policy.js';
import { refreshWithRotation } from './refresh.js';
import { type TokenStatus, updateAccountStatus } from './status.js';

export type TokenResult = 'renewed' | 'fresh' | 'failed';

export interface TokenOutcome {
  token: string;
  account: string;
  path: string;
  result: TokenResult;
  reason?: RenewReason | undefined;
  expiresAt?: number | undefined;
  error?: TokenwardenError | undefined;
}

export interface RenewOptions {
  config: RenewerConfig;
  /** Holds the refresh-token accounts' credentials. */
  store: CredentialStore;
  /** Client secret of a client-credentials account (inline or from `client_secret_file`). */
  clientSecret: (account: AccountConfig & { kind: 'client_credentials' }) => Promise<Secret>;
  clock?: () => number;
  fetch?: typeof fetch;
  /** The run's deadline: no new work starts after it fires; lock waits end. */
  signal?: AbortSignal;
  /** How many accounts are worked on at once (tokens of one account are always done one at a time). */
  concurrency?: number;
  /** Renew even tokens that are still fresh. */
  force?: boolean;
  /** Only these tokens (names); all when empty. */
  only?: readonly string[];
  /** Called as each token finishes (progress output, metrics). */
  onOutcome?: (outcome: TokenOutcome) => void;
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
 */
export async function renewTokens(options: RenewOptions): Promise<TokenOutcome[]> {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const selected = config.tokens.filter((t) => !options.only?.length || options.only.includes(t.name));
  const candidates = await mapLimit(selected, 64, (token) => inspectCandidate(token, clock, options.force));
  const outcomes: TokenOutcome[] = [];
  const status = new StatusRecorder(config.stateDir, clock);
  const record = (o: TokenOutcome) => {
    outcomes.push(o);
    options.onOutcome?.(o);
  };
  const byAccount = new Map<string, Candidate[]>();
  const due: Candidate[] = [];
  for (const c of candidates) {
    if (c.reason === undefined) record(outcome(c.token, 'fresh', { expiresAt: c.currentExp }));
    else due.push(c);
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
  await mapLimit([...byAccount], options.concurrency ?? 16, async ([accountName, due]) => {
    const account = config.accounts.get(accountName);
    if (account === undefined) throw new TokenwardenError('INTERNAL', `account ${accountName} vanished`);
    for (const o of await renewAccount(account, due, options, clock, status)) record(o);
  });
  // Accounts whose every due token failed the preflight have not been written yet.
  await status.flushAll();
  const order = new Map(selected.map((t, i) => [t.name, i]));
  return outcomes.sort((a, b) => (order.get(a.token) ?? 0) - (order.get(b.token) ?? 0));
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
    await checkWriteTarget(token.tokenPath, { mode: token.mode, ...ids });
  } catch (err) {
    const e = asError(err);
    throw configFailure(e.code, config.file, token.line, section, `token_path: ${e.message}`, {
      cause: e,
      ...(e.hint ? { hint: e.hint } : {}),
    });
  }
  return ids;
}

async function inspectCandidate(
  token: TokenConfig,
  clock: () => number,
  force?: boolean,
): Promise<Candidate> {
  const { current, identity } = await readCurrent(token.tokenPath);
  const currentExp = typeof current === 'object' ? current.claims.exp : undefined;
  const reason = renewReason(current, token, nowSeconds(clock), force);
  return { token, reason, currentExp, identity };
}

async function readCurrent(
  path: string,
): Promise<{ current: DecodedToken | 'missing' | 'unreadable'; identity?: string | undefined }> {
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
): Promise<TokenOutcome[]> {
  const results: TokenOutcome[] = [];
  // Each request has the account's timeout; all of them also end when the run's deadline fires.
  const ctx: RequestContext = {
    timeoutSeconds: account.timeoutSeconds,
    fetch: options.fetch,
    signal: options.signal,
  };
  try {
    await options.store.withLock(
      account.name,
      async () => {
        const session = await openSession(account, options, ctx);
        let fatal: TokenwardenError | undefined;
        for (const c of due) {
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
            if (isTransportFailure(e) || e.code === 'NEEDS_LOGIN') fatal = e;
            results.push(fail(c.token, e, status));
          }
        }
        // Still under the lock: no other renew of this account writes its status file meanwhile.
        await status.flush(account.name);
      },
      { timeoutMs: 10 * 60_000, ...(options.signal ? { signal: options.signal } : {}) },
    );
  } catch (err) {
    const e = asError(err);
    const done = new Set(results.map((r) => r.token));
    for (const c of due) if (!done.has(c.token.name)) results.push(fail(c.token, e, status));
    await status.flush(account.name);
  }
  return results;
}

function asError(err: unknown): TokenwardenError {
  return err instanceof TokenwardenError
    ? err
    : new TokenwardenError('INTERNAL', err instanceof Error ? err.message : String(err));
}

/** Collects the status of each attempt and writes each account's file once, not once per token. */
class StatusRecorder {
  readonly #pending = new Map<string, TokenStatus[]>();
  constructor(
    readonly stateDir: string,
    readonly clock: () => number,
  ) {}

  note(token: TokenConfig, fields: Partial<TokenStatus> & { state: TokenStatus['state'] }): void {
    const list = this.#pending.get(token.account) ?? [];
    list.push({
      token: token.name,
      account: token.account,
      path: token.tokenPath,
      lastAttempt: new Date(this.clock()).toISOString(),
      ...fields,
    });
    this.#pending.set(token.account, list);
  }

  async flush(account: string): Promise<void> {
    const updates = this.#pending.get(account);
    this.#pending.delete(account);
    if (!updates) return;
    try {
      await updateAccountStatus(this.stateDir, account, updates);
    } catch {
      // Status is informational: failing to record it must not fail a renewal that worked.
    }
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.#pending.keys()].map((a) => this.flush(a)));
  }
}

function fail(token: TokenConfig, error: TokenwardenError, status: StatusRecorder): TokenOutcome {
  const state = error.code === 'NEEDS_LOGIN' ? 'needs-login' : 'failing';
  status.note(token, { state, lastError: error.message, lastErrorCode: error.code });
  return outcome(token, 'failed', { error });
}

/** What one account needs to mint tokens: a client, and for refresh accounts the decrypted record. */
interface Session {
  account: AccountConfig;
  client: oc.Configuration;
  ctx: RequestContext;
  record?: AccountRecord;
  /** For `grant = exchange`: one full-scope access token per run, exchanged for each token. */
  subjectToken?: Secret;
}

async function openSession(
  account: AccountConfig,
  options: RenewOptions,
  ctx: RequestContext,
): Promise<Session> {
  if (account.kind === 'client_credentials') {
    const clientSecret = await options.clientSecret(account);
    const client = await createClient(
      {
        issuer: account.issuer ?? '',
        clientId: account.clientId,
        clientSecret,
        authMethod: 'client_secret_basic',
        tokenEndpoint: account.tokenRequestUrl,
      },
      ctx,
    );
    return { account, client, ctx };
  }
  let record: AccountRecord | undefined;
  try {
    record = await options.store.load(account.name);
  } catch (err) {
    const e = asError(err);
    if (e.code !== 'STORE_DECRYPT_FAILED') throw e;
    // Same fixed reason (it says nothing about what failed), but naming the files the admin must check.
    throw configFailure(
      'STORE_DECRYPT_FAILED',
      options.config.file,
      account.line,
      `account ${account.name}`,
      `cannot decrypt credential_file ${account.credentialFile} with password_file ${account.passwordFile}: wrong password, or the file was altered`,
      {
        cause: e,
        hint: `check password_file; if the credential was damaged, run: tokenwarden setup ${account.name} --config ${options.config.file}`,
      },
    );
  }
  if (record === undefined) {
    throw new TokenwardenError('STORE_NOT_FOUND', `no credential for [account ${account.name}] yet`, {
      hint: `run: tokenwarden setup ${account.name} --config ${options.config.file}`,
    });
  }
  if (record.needsLogin) {
    // Do not even contact the issuer with a refresh token it has refused (DESIGN invariant 5).
    throw new TokenwardenError(
      'NEEDS_LOGIN',
      `account ${account.name} needs a new login (since ${record.needsLogin.since}: ${record.needsLogin.reason})`,
      { hint: `run: tokenwarden setup ${account.name} --config ${options.config.file}` },
    );
  }
  const client = await createClient(
    {
      issuer: account.issuer ?? record.issuer,
      clientId: record.clientId,
      clientSecret: record.clientSecret,
      authMethod: record.tokenEndpointAuthMethod as
        | 'client_secret_basic'
        | 'client_secret_post'
        | 'none'
        | undefined,
    },
    ctx,
  );
  return { account, client, ctx, record };
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
  if (again.reason === undefined) return outcome(token, 'fresh', { expiresAt: again.currentExp });
  const response = await mint(session, token, options);
  const accessToken = response.accessToken.reveal();
  let decoded: DecodedToken;
  try {
    decoded = decodeToken(accessToken);
  } catch {
    throw new TokenwardenError('ISSUER_RESPONSE', 'the issuer returned an access token that is not a JWT');
  }
  const now = nowSeconds(clock);
  const exp = decoded.claims.exp ?? (response.expiresIn === undefined ? undefined : now + response.expiresIn);
  if (!isNoWorse(exp, again.currentExp)) {
    throw new TokenwardenError(
      'RENEW_FAILED',
      `the issuer returned a token expiring sooner than the one on disk; kept the current one`,
      { hint: 'lower min_lifetime below the lifetime of the tokens the issuer grants' },
    );
  }
  await writeFileAtomic(token.tokenPath, token.newline ? `${accessToken}\n` : accessToken, {
    mode: token.mode,
    ...c.ids,
  });
  const at = new Date(clock()).toISOString();
  status.note(token, { state: 'ok', lastRenewal: at, expiresAt: exp });
  return outcome(token, 'renewed', { reason: c.reason, expiresAt: exp });
}

async function mint(session: Session, token: TokenConfig, options: RenewOptions): Promise<TokenResponse> {
  const { account, client, ctx } = session;
  const request = { scope: token.scope, audience: token.audience, audienceParam: account.audienceParam };
  if (account.kind === 'client_credentials') return clientCredentialsGrant(client, request, ctx);
  if (token.grant === 'exchange') {
    session.subjectToken ??= (await refreshAndPersist(session, {}, options)).accessToken;
    return tokenExchangeGrant(client, session.subjectToken, request, ctx);
  }
  return refreshAndPersist(session, request, options);
}

async function refreshAndPersist(
  session: Session,
  request: TokenRequest,
  options: RenewOptions,
): Promise<TokenResponse> {
  const { response, record } = await refreshWithRotation({
    store: options.store,
    record: session.record as AccountRecord,
    client: session.client,
    request,
    ctx: session.ctx,
    loginHint: `tokenwarden setup ${session.account.name} --config ${options.config.file}`,
  });
  session.record = record;
  return response;
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
