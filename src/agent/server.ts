import { chmod, lstat, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { isTokenwardenError, OAuthError, TokenwardenError } from '../errors.js';
import { Secret } from '../secret.js';
import { nowSeconds } from '../tokens/index.js';
import { type LoadedAccount, loadAccount } from './accounts.js';
import { startBearerFileKeeper } from './bearer-file.js';
import type { AgentLogger } from './log.js';
import { serveOidcAgentConnection } from './oidc-agent/index.js';
import { answerOidcAgentToolRequest } from './oidc-requests.js';
import { prepareSocketDirectory, socketIsLive } from './paths.js';
import { type AgentReply, failure, MAX_REQUEST_BYTES } from './protocol.js';
import { TokenService } from './token-service.js';

/**
 * How long close() keeps its socket answering ("the agent is stopping") while requests in flight finish;
 * a refresh still running after that is waited for with the socket closed (its answer must be saved).
 */
export const DEFAULT_DRAIN_MS = 5000;

export interface AgentOptions {
  socketPath: string;
  /** Default seconds an added account stays loaded (0 or undefined: until removed). */
  lifetimeSeconds?: number | undefined;
  /** Seconds per request to the issuer. */
  timeoutSeconds?: number;
  clock?: () => number;
  fetch?: typeof fetch;
  /** Called after a `tw_kill` request has been answered. */
  onKill?: () => void;
  /** Keep a fresh token of one account in a file (`agent --bearer-file`). */
  bearerFile?:
    | { account: string; path: string; audience: string[]; scope: string[]; minValid: number }
    | undefined;
  /** What an admin needs to know (start, stop, accounts, failures); never secrets. */
  log?: AgentLogger;
  /** How long close() keeps the socket open for requests in flight (default 5 s; see DEFAULT_DRAIN_MS). */
  drainMs?: number;
}

export interface Agent {
  readonly socketPath: string;
  readonly tokens: TokenService;
  start(): Promise<void>;
  /**
   * Stops: new requests get a failure reply at once, requests in flight (a refresh, the save of its
   * rotated refresh token) finish; the socket is closed and removed when they have, or after drainMs,
   * whichever comes first, then the accounts are unloaded once nothing is in flight. `reason` goes to
   * the log. Idempotent.
   */
  close(reason?: string): Promise<void>;
}

/**
 * The per-user agent: accounts decrypted in memory, access tokens cached per (account, audience, scope),
 * served over a UNIX socket (mode 0600 in a 0700 directory) to tokenwarden's client and to oidc-agent's.
 */
export function createAgent(options: AgentOptions): Agent {
  const clock = options.clock ?? Date.now;
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  const accounts = new Map<string, LoadedAccount>();
  const log: AgentLogger = options.log ?? (() => {});
  const tokens = new TokenService({ clock, timeoutSeconds, fetch: options.fetch });
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let sweeper: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  /** Requests being handled: close() lets them finish. */
  const active = new Set<Promise<AgentReply>>();
  const keeper = options.bearerFile
    ? startBearerFileKeeper({
        ...options.bearerFile,
        lookup: (name) => accounts.get(name),
        tokens,
        clock,
        onError: (err) =>
          log('bearer-file-failed', {
            path: options.bearerFile?.path,
            account: options.bearerFile?.account,
            ...errorFields(err),
          }),
      })
    : undefined;

  const unload = async (name: string) => {
    const acct = accounts.get(name);
    if (!acct) return false;
    accounts.delete(name);
    tokens.cache.dropAccount(name);
    await acct.store.close();
    return true;
  };

  const sweep = async () => {
    const now = clock();
    for (const a of [...accounts.values()]) {
      if (a.expiresAt !== undefined && a.expiresAt <= now && (await unload(a.name))) {
        log('account-expired', {
          account: a.name,
          lifetime: `${Math.round((a.expiresAt - a.loadedAt) / 1000)}s`,
        });
      }
    }
  };

  const findAccount = (request: Record<string, unknown>): LoadedAccount => {
    // oidc-token passes an issuer URL given on its command line as the account name.
    if (
      typeof request.account === 'string' &&
      /^https?:\/\//.test(request.account) &&
      !accounts.has(request.account)
    ) {
      return findAccount({ issuer: request.account });
    }
    if (typeof request.account === 'string') {
      const acct = accounts.get(request.account);
      if (acct) return acct;
      throw new TokenwardenError('STORE_NOT_FOUND', `account ${request.account} is not loaded`, {
        hint: `run: tokenwarden add ${request.account}`,
      });
    }
    if (typeof request.issuer === 'string') {
      const want = request.issuer.replace(/\/+$/, '');
      for (const a of accounts.values()) if (a.issuer.replace(/\/+$/, '') === want) return a;
      throw new TokenwardenError('STORE_NOT_FOUND', `no loaded account for issuer ${request.issuer}`, {
        hint: 'run: tokenwarden add ACCOUNT',
      });
    }
    throw new TokenwardenError('USAGE', 'request names neither an account nor an issuer');
  };

  /** Every request passes here: refused once the agent is stopping, else tracked until answered. */
  function dispatch(request: Record<string, unknown>): Promise<AgentReply> {
    if (closing !== undefined) {
      return Promise.resolve(
        failure('the agent is stopping', 'USAGE', 'start it again with: eval "$(tokenwarden agent)"'),
      );
    }
    const work = handle(request);
    active.add(work);
    void work.finally(() => active.delete(work));
    return work;
  }

  async function handle(request: Record<string, unknown>): Promise<AgentReply> {
    try {
      await sweep();
      const tool = answerOidcAgentToolRequest(request, () => [...accounts.keys()]);
      if (tool !== undefined) return tool;
      switch (request.request) {
        case 'access_token': {
          const acct = findAccount(request);
          // oidc-token -f sends min_valid_period -1: "a new token, whatever is cached".
          const asked = Number(request.min_valid_period ?? 0);
          if (!Number.isFinite(asked)) throw new TokenwardenError('USAGE', 'bad min_valid_period');
          const minValid = Math.max(0, asked);
          const audience = listField(request.audience, 'audience');
          const scope = listField(request.scope, 'scope');
          const token = await tokens
            .get(acct, {
              account: acct.name,
              audience,
              scope,
              minValid,
              force: request.force_new_token === true || asked < 0,
            })
            .catch((err: unknown) => {
              const fields = { account: acct.name, ...errorFields(err) };
              log(
                isTokenwardenError(err) && err.code === 'NEEDS_LOGIN' ? 'needs-login' : 'refresh-failed',
                fields,
              );
              throw err;
            });
          if (token.expiresAt - nowSeconds(clock) <= minValid) {
            throw new TokenwardenError('RENEW_FAILED', `the issuer's tokens live less than ${minValid}s`, {
              hint: 'ask for a shorter --time',
            });
          }
          return {
            status: 'success',
            access_token: token.token.reveal(),
            issuer: token.issuer,
            expires_at: token.expiresAt,
            scope: token.scope.join(' '),
            audience: token.audience.join(' '),
          };
        }
        case 'tw_add': {
          const name = request.account;
          const password = request.password;
          if (typeof name !== 'string' || typeof password !== 'string') {
            throw new TokenwardenError('USAGE', 'tw_add needs account and password');
          }
          if (typeof request.credential_file !== 'string' || typeof request.lock_file !== 'string') {
            throw new TokenwardenError('USAGE', 'tw_add needs credential_file and lock_file');
          }
          const asked = Number(request.lifetime ?? 0);
          if (!Number.isFinite(asked) || asked < 0)
            throw new TokenwardenError('USAGE', 'lifetime must be a number of seconds, 0 or more');
          const lifetime = asked || options.lifetimeSeconds || undefined;
          const loaded = await loadAccount({
            name,
            password: new Secret(password),
            credentialFile: request.credential_file,
            lockFile: request.lock_file,
            configPath: typeof request.config === 'string' ? request.config : undefined,
            lifetimeSeconds: lifetime,
            clients: tokens.clients,
            timeoutSeconds,
            fetch: options.fetch,
            clock,
          }).catch((err: unknown) => {
            log('add-failed', { account: name, ...errorFields(err) });
            throw err;
          });
          const replaced = await unload(name);
          accounts.set(name, loaded);
          log(replaced ? 'account-reloaded' : 'account-added', {
            account: name,
            issuer: loaded.issuer,
            credential: loaded.credentialFile,
            lifetime: lifetime ? `${lifetime}s` : 'unlimited',
          });
          if (options.bearerFile?.account === name) void keeper?.tick();
          return { status: 'success', account: name, issuer: loaded.issuer };
        }
        case 'tw_remove': {
          if (typeof request.account !== 'string')
            throw new TokenwardenError('USAGE', 'tw_remove needs account');
          if (!(await unload(request.account))) {
            throw new TokenwardenError('STORE_NOT_FOUND', `account ${request.account} is not loaded`);
          }
          log('account-removed', { account: request.account });
          return { status: 'success' };
        }
        case 'tw_list':
          return {
            status: 'success',
            accounts: [...accounts.values()].map((a) => ({
              account: a.name,
              issuer: a.issuer,
              loaded_at: Math.floor(a.loadedAt / 1000),
              expires_at: a.expiresAt === undefined ? null : Math.floor(a.expiresAt / 1000),
            })),
          };
        case 'tw_ping':
          return { status: 'success', pid: process.pid };
        case 'tw_kill':
          setImmediate(() => options.onKill?.());
          return { status: 'success' };
        default:
          return failure(`unknown request ${JSON.stringify(String(request.request))}`, 'USAGE');
      }
    } catch (err) {
      if (isTokenwardenError(err)) return failure(err.message, err.code, err.hint);
      log('internal-error', { request: String(request.request).slice(0, 40) });
      return failure('internal error in the agent', 'INTERNAL');
    }
  }

  return {
    socketPath: options.socketPath,
    tokens,
    async start() {
      await prepareSocketDirectory(options.socketPath);
      const existing = await lstat(options.socketPath).catch(() => undefined);
      if (existing !== undefined && !existing.isSocket()) {
        throw new TokenwardenError(
          'FILE_UNSAFE',
          `refusing to start: ${options.socketPath} exists and is not a socket`,
          { hint: 'remove it, or give another --socket' },
        );
      }
      if (await socketIsLive(options.socketPath)) {
        // Removing it would orphan that agent: its accounts stay decrypted in memory, unreachable.
        throw new TokenwardenError('USAGE', `an agent is already running on ${options.socketPath}`, {
          hint: 'stop it with: tokenwarden agent --kill, or give another --socket',
        });
      }
      // A socket nobody answers on is a crashed agent's: replace it.
      await rm(options.socketPath, { force: true });
      server = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        serveOidcAgentConnection(socket, (req) => dispatch(req) as Promise<Record<string, unknown>>, {
          maxMessageBytes: MAX_REQUEST_BYTES,
          idleTimeoutMs: 5000,
        });
      });
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(options.socketPath, () => resolve());
      });
      await chmod(options.socketPath, 0o600);
      sweeper = setInterval(() => void sweep(), 60_000);
      sweeper.unref();
      log('start', { socket: options.socketPath, pid: process.pid });
    },
    close(reason = 'closed') {
      closing ??= (async () => {
        if (sweeper) clearInterval(sweeper);
        const inFlight = active.size;
        // An agent that never started has nothing to report.
        const report: AgentLogger = server ? log : () => {};
        report('stopping', { reason, in_flight: inFlight });
        // The keeper's refresh in flight, if any, is one of the requests waited for below.
        const keeperIdle = keeper?.stop();
        const work = [...active, ...(keeperIdle ? [keeperIdle] : [])];
        const drained = await settleWithin(work, options.drainMs ?? DEFAULT_DRAIN_MS);
        const s = server;
        for (const socket of sockets) socket.destroy();
        if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
        if (s) await rm(options.socketPath, { force: true });
        if (!drained) {
          // The socket is gone, but a refresh the issuer is still answering must be saved (its rotated
          // refresh token is the only live one): wait for it, bounded by its own request timeout.
          report('waiting', { reason: 'a refresh is still in flight; its answer will be saved' });
          await Promise.allSettled(work);
        }
        await Promise.allSettled([...accounts.keys()].map(unload));
        report('stop', {
          reason,
          ...(inFlight > 0
            ? { finished: drained ? 'all requests in flight' : 'after its socket closed' }
            : {}),
        });
      })();
      return closing;
    },
  };
}

/** True when every promise settled within ms. */
async function settleWithin(work: Promise<unknown>[], ms: number): Promise<boolean> {
  if (work.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = await Promise.race([Promise.allSettled(work).then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

/** What the log says about a failure: tokenwarden's code, the issuer's OAuth error, the message. */
function errorFields(err: unknown): Record<string, string | undefined> {
  if (!isTokenwardenError(err)) return { code: 'INTERNAL' };
  const oauth = err instanceof OAuthError ? err : err.cause instanceof OAuthError ? err.cause : undefined;
  return { code: err.code, oauth_error: oauth?.error, message: err.message };
}

/**
 * A space-separated list, as oidc-agent's clients send `audience` and `scope`; a JSON array of strings is
 * taken too. Anything else is refused rather than silently dropped (which would hand out a token with the
 * default audience to a caller that asked for a specific one).
 */
function listField(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  const items = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : undefined;
  if (items === undefined || !items.every((v) => typeof v === 'string')) {
    throw new TokenwardenError('USAGE', `${name} must be a space-separated string or an array of strings`);
  }
  return items.flatMap((v) => v.split(/\s+/)).filter(Boolean);
}
