import type { ConfigWarning, RenewerConfig, WebhookConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import type { Log, LogEvent, LogSink } from '../log/index.js';
import { formatHint } from '../remedy.js';
import type { DaemonConfig, DaemonEvent } from '../renewal/daemon.js';
import { removeDaemonInfo, writeDaemonInfo } from '../renewal/daemon-info.js';
import type { WebServer } from '../web/index.js';
import type { WebhookLogEvent, WebhookNotifier } from '../web/webhook.js';
import { type CliIO, type Command, countOpt, type ParsedArgs, stringOpt } from './command.js';
import { readAccountFiles } from './renew.js';
import { CONFIG_OPTION, clientSecretOf, storeForConfig } from './shared.js';

export const command: Command = {
  name: 'daemon',
  summary: 'Keep every [token] of config.ini renewed, each on its own schedule (long-running).',
  usage:
    'daemon [--config PATH] [--listen HOST:PORT|none] [--tls-cert FILE --tls-key FILE] [--log-file PATH] [--concurrency N] [--retry-base SECS] [--retry-max SECS]',
  details: `Runs the work of renew continuously. Each [token] is renewed on its own timer: at
max(exp - min_lifetime, iat + half its lifetime), minus a small random jitter (at most 5 minutes and a
tenth of the lifetime) so tokens issued together do not all come due together; a missing or expired
token at once. Tokens of one account are renewed one at a time, under the same cross-process lock as
renew (so renew, the agent and the daemon can share an account); accounts in parallel.
A failure that may pass (network, timeout, HTTP 408, 429, 5xx) is retried with capped exponential
backoff and jitter (--retry-base, 10 s, doubling up to --retry-max, 600 s), never sooner than the issuer's Retry-After; the
token on disk is kept meanwhile. One issuer holds at most half the --concurrency slots, so a hung issuer
leaves the others their turn. An account whose refresh token was refused (needs a new login), that
has no credential, whose credential does not decrypt or whose password file cannot be read, or whose
rotated refresh token could not be saved is not retried: the daemon looks at its
credential and password files every minute and resumes when they change (after a new setup).
A broken [token] or [account] section is reported and skipped; the other tokens run.
SIGHUP: load config.ini again. A config that cannot be read, or with a section broken anew (one broken
since the start does not count), is refused with the same message renew prints, and the running
configuration is kept. Otherwise removed tokens
stop, new ones start and changed ones are rescheduled; a refresh in flight is finished first.
SIGTERM or SIGINT: start nothing new, finish and save the refresh in flight, exit 0. A second signal
only says it is still finishing (a refresh the issuer answered must be saved, or its rotated refresh
token is lost); SIGKILL stops it at once, at that risk.
HTTP (--listen, 127.0.0.1:9464 by default; none: no HTTP): / is a status page (every token, its time
left as a bar, state, last error, next renewal; reloads itself), /api/status the same as JSON,
/metrics Prometheus metrics, /healthz liveness, /readyz readiness (a config is loaded and the state
directory can be used). Nothing served holds a secret. Listening beyond loopback needs --tls-cert and
--tls-key. While it serves, its address is in daemon.json in the state directory, and status for the
same config.ini asks it. Warnings (an account that needs a login, an issuer failing for longer than a
token has left, a refresh token near its expiry) are shown on the page and in /metrics, and POSTed as
JSON to webhook_url ([DEFAULT] of config.ini) when they appear and when they clear.
Logs one line per event on stderr, TYPE key=value ... (renewal.succeeded, renewal.failed with its
attempt and retry_in, account.blocked, daemon.reloaded...; durations in seconds): with the journal's
<N> priority prefix when stderr is the journal (under systemd), else after the time. --log-file also
appends them to a file (mode 0600, rotated to PATH.1 at 1 MiB). Never a secret.`,
  options: {
    ...CONFIG_OPTION,
    concurrency: {
      type: 'string',
      valueName: 'N',
      description: 'accounts renewed at once (default 16)',
    },
    'retry-base': {
      type: 'string',
      valueName: 'SECS',
      description: 'first retry delay after a transient failure (default 10)',
    },
    listen: {
      type: 'string',
      valueName: 'HOST:PORT',
      description:
        'where the status page, /metrics, /healthz and /readyz are served (default 127.0.0.1:9464; none: no HTTP)',
    },
    'tls-cert': {
      type: 'string',
      valueName: 'FILE',
      description: 'serve HTTPS with this PEM certificate (chain); needed to listen beyond loopback',
    },
    'tls-key': { type: 'string', valueName: 'FILE', description: 'the PEM private key of --tls-cert' },
    'log-file': {
      type: 'string',
      valueName: 'PATH',
      description: 'also append the log to PATH (mode 0600, rotated to PATH.1 at 1 MiB)',
    },
    'retry-max': {
      type: 'string',
      valueName: 'SECS',
      description: 'longest retry delay, unless the issuer asks for more (default 600)',
    },
  },
  async run(args, io) {
    const concurrency = countOpt(args, 'concurrency', 16, 1, 1024);
    const backoffBaseSeconds = countOpt(args, 'retry-base', 10, 1, 86_400);
    const backoffCapSeconds = countOpt(args, 'retry-max', 600, 1, 86_400);
    if (backoffCapSeconds < backoffBaseSeconds) {
      throw new TokenwardenError('USAGE', '--retry-max must not be less than --retry-base');
    }
    const listen = parseListen(stringOpt(args, 'listen') ?? DEFAULT_LISTEN);
    const tls = tlsOptions(args);
    const [
      { createDaemon },
      { createDaemonHttp, instrumentFetch },
      { onSignals },
      { createMetrics },
      web,
      logs,
    ] = await Promise.all([
      import('../renewal/daemon.js'),
      import('../renewal/daemon-http.js'),
      import('../signals/index.js'),
      import('../web/metrics.js'),
      import('../web/webhook.js'),
      import('../log/index.js'),
    ]);
    // One log for everything the daemon reports (its renewals, its HTTP side, the webhook): the journal
    // or stderr, and --log-file beside it.
    const logFile = stringOpt(args, 'log-file');
    const sinks = [logs.consoleSink(io.env, { write: io.err })];
    if (logFile !== undefined) sinks.push(openLogFile(logs.fileSink, logFile));
    const log = logs.createLog(sinks);
    const metrics = createMetrics();
    let stopReason: NodeJS.Signals = 'SIGTERM';
    let stopped: (signal: NodeJS.Signals) => void = () => {};
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      stopped = resolve;
    });
    // The configuration in force is the one of the last load the daemon accepted (started, reloaded).
    let offered: RenewerConfig | undefined;
    let accepted: RenewerConfig | undefined;
    let webhookUrl: string | undefined;
    let notifier: WebhookNotifier | undefined;
    const useWebhook = async (config: WebhookConfig | undefined) => {
      const url = config?.url.reveal();
      if (url === webhookUrl) return;
      await notifier?.close();
      notifier = undefined;
      webhookUrl = url;
      if (config === undefined) return;
      // Its path or query may hold a token (Slack's and others' do); the notifier names only the host.
      log.addSecret(config.url);
      notifier = web.createWebhookNotifier({
        url: config.url,
        timeoutMs: config.timeoutSeconds * 1000,
        service: 'tokenwarden daemon',
        log: (e) => {
          const event = webhookLogEvent(e);
          if (event !== undefined) log.emit(event);
        },
      });
    };
    let daemon: ReturnType<typeof createDaemon> | undefined;
    // At most one warnings check a second, however many events come (10,000 tokens renewed at start
    // would otherwise build 10,000 snapshots).
    let notifyPending = false;
    const notify = () => {
      if (notifier === undefined || notifyPending) return;
      notifyPending = true;
      setTimeout(() => {
        notifyPending = false;
        if (notifier !== undefined && daemon !== undefined) notifier.update(daemon.snapshot().warnings);
      }, 1000).unref();
    };
    daemon = createDaemon({
      load: async () => {
        const loaded = await loadDaemonConfig(args, io, log);
        offered = loaded.config;
        return loaded;
      },
      fetch: instrumentFetch(fetch, (issuer, seconds, outcome) =>
        metrics.observeIssuerRequest(issuer, seconds, outcome),
      ),
      log: (event) => {
        if (event.type === 'renewed') metrics.observeRenewal(event.account, 'renewed');
        if (event.type === 'failed') metrics.observeRenewal(event.account, 'failed', event.error.code);
        if (event.type === 'started' || event.type === 'reloaded') {
          accepted = offered;
          void useWebhook(accepted?.webhook).then(notify);
        }
        const line = daemonLogEvent(event, {
          now: Date.now() / 1000,
          config: offered?.file ?? '',
          tokens: offered?.tokens.length ?? 0,
          reason: stopReason,
        });
        if (line !== undefined) log.emit(line);
        notify();
      },
      concurrency,
      backoffBaseSeconds,
      backoffCapSeconds,
    });
    const running = daemon;
    // Taken before the first renewal: a stop asked during start-up still finishes cleanly.
    const signals = onSignals({
      onStop: (signal) => {
        stopReason = signal;
        log.emit({
          type: 'daemon.stopping',
          level: 'info',
          reason: signal,
          note: 'finishing the refresh in flight, then exiting',
        });
        stopped(signal);
      },
      onRepeat: (signal) =>
        log.emit({
          type: 'daemon.stop-repeated',
          level: 'warning',
          reason: signal,
          note: 'still finishing the refresh in flight',
        }),
      onReload: async () => {
        log.emit({ type: 'daemon.reloading', level: 'info', reason: 'SIGHUP' });
        await running.reload();
      },
    });
    // Timers are unref'd; this keeps the process up while it waits for them. It also re-sends the
    // warnings, since an outage becomes one by time passing, not by an event.
    const keepAlive = setInterval(notify, 30_000);
    let http: WebServer | undefined;
    let info: { stateDir: string } | undefined;
    try {
      await running.start();
      // Listen once the configuration is loaded: a server built before the load of a big config.ini
      // left the idle daemon 30 MB larger (bench/daemon.ts). An address in use still stops it, with
      // exit 2 and what to do, after draining what start began.
      let url: URL | undefined;
      if (listen !== undefined) {
        http = createDaemonHttp({
          daemon: running,
          metrics,
          host: listen.host,
          port: listen.port,
          ...(tls ? { tls } : {}),
          log,
        });
        url = await http.listen().catch((err: unknown) => {
          throw listenError(err, listen);
        });
        log.emit({
          type: 'daemon.serving',
          level: 'info',
          url: url.href,
          metrics: new URL('metrics', url).href,
        });
      }
      if (url !== undefined) {
        const snapshot = running.snapshot();
        if (accepted !== undefined && snapshot.configFile !== undefined) {
          info = { stateDir: accepted.stateDir };
          await writeDaemonInfo(accepted.stateDir, {
            pid: process.pid,
            url: url.href,
            config: snapshot.configFile,
            startedAt: snapshot.startedAt,
          }).catch((err: unknown) => {
            log.emit({
              type: 'daemon.warning',
              level: 'warning',
              message: `status cannot find this daemon: ${messageOf(err)}`,
            });
            info = undefined;
          });
        }
      }
      await stopSignal;
    } finally {
      if (info !== undefined) await removeDaemonInfo(info.stateDir, process.pid).catch(() => {});
      await signals.reloaded();
      await Promise.allSettled([running.close(), http?.close()]);
      await notifier?.close();
      clearInterval(keepAlive);
      signals.dispose();
      log.close();
    }
    return { exitCode: 0 };
  },
};

const DEFAULT_LISTEN = '127.0.0.1:9464';

/** `HOST:PORT` (IPv6 in brackets), or `none` for no HTTP at all. */
function parseListen(value: string): { host: string; port: number } | undefined {
  if (value === 'none') return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new TokenwardenError(
      'USAGE',
      `--listen ${value}: expected HOST:PORT (for example 127.0.0.1:9464, [::1]:9464), or none`,
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function tlsOptions(args: ParsedArgs): { certFile: string; keyFile: string } | undefined {
  const certFile = stringOpt(args, 'tls-cert');
  const keyFile = stringOpt(args, 'tls-key');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new TokenwardenError('USAGE', '--tls-cert and --tls-key go together: give both, or neither');
  }
  return { certFile, keyFile };
}

/** An address that cannot be listened on is the command line's mistake (exit 2), said as such. */
function listenError(err: unknown, listen: { host: string; port: number }): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const why =
    code === 'EADDRINUSE'
      ? 'the address is in use (another daemon, or another service, listens there)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : code === 'EADDRNOTAVAIL'
          ? 'no interface of this host has that address'
          : undefined;
  if (why === undefined) return err;
  return new TokenwardenError('USAGE', `--listen ${where}: cannot listen: ${why}`, {
    hint: 'choose another address with --listen HOST:PORT, or --listen none for no HTTP',
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * config.ini as renew loads it (broken sections collected), its secret files read, and a store for it.
 * What renew prints as warnings (a group-readable password file...) goes to the log as `config.warning`.
 */
async function loadDaemonConfig(args: ParsedArgs, io: CliIO, log: Log): Promise<DaemonConfig> {
  const { findConfigPath, loadRenewerConfig } = await import('../config/index.js');
  const warnings: ConfigWarning[] = [];
  const path = findConfigPath({ cliPath: stringOpt(args, 'config'), env: io.env });
  const config = await loadRenewerConfig({
    path,
    env: io.env,
    uid: io.uid,
    home: io.home,
    collect: true,
    warnings,
  });
  const { passwords, passwordIdentities, unusable } = await readAccountFiles(config, [], warnings);
  for (const w of warnings) {
    log.emit({ type: 'config.warning', level: 'warning', file: w.file, message: w.message, hint: w.hint });
  }
  // The daemon never holds a token, but it holds these: no line may show them, whatever quotes them.
  for (const password of passwords.values()) log.addSecret(password);
  return {
    config,
    store: storeForConfig(config, passwords),
    clientSecret: clientSecretOf,
    passwordIdentities,
    unusable,
  };
}

/** Opens --log-file; a path that cannot be opened is a usage error, said before anything starts. */
function openLogFile(fileSink: (path: string) => LogSink, path: string): LogSink {
  try {
    return fileSink(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TokenwardenError('FILE_IO', `--log-file ${path}: cannot open it (${code ?? messageOf(err)})`, {
      cause: err,
      hint:
        code === 'ELOOP'
          ? 'it is a symlink, which is never followed: give the real path'
          : 'give a file in an existing directory this user may write',
    });
  }
}

export interface DaemonLogContext {
  /** Epoch seconds, for the durations of the line. */
  now: number;
  /** The config file in force, and its number of tokens. */
  config: string;
  tokens: number;
  /** The signal that stops the daemon (for `daemon.stopped`). */
  reason: string;
}

/** What a blocked account waits for, as the journal says it. */
const WAITING = 'not retried until its credential or password file changes, or a reload (SIGHUP)';

/**
 * A daemon's event as a log event (pure): names, times as seconds from `now`, and an error as its code,
 * message and hint. Undefined for events not worth a line (the renewal module's own `stopping`: the
 * signal handler has said it already).
 */
export function daemonLogEvent(event: DaemonEvent, ctx: DaemonLogContext): LogEvent | undefined {
  const seconds = (at: number | undefined) =>
    at === undefined ? undefined : Math.max(0, Math.round(at - ctx.now));
  switch (event.type) {
    case 'started':
      return {
        type: 'daemon.started',
        level: 'info',
        config: ctx.config,
        tokens: event.tokens,
        accounts: event.accounts,
        broken: event.broken > 0 ? event.broken : undefined,
        pid: process.pid,
      };
    case 'renewed':
      return {
        type: 'renewal.succeeded',
        level: 'info',
        token: event.token,
        account: event.account,
        expires_in: seconds(event.expiresAt),
        next_renewal_in: seconds(event.nextAt),
      };
    case 'failed':
      return {
        type: 'renewal.failed',
        level: 'warning',
        token: event.token,
        account: event.account,
        code: event.error.code,
        message: event.error.message,
        hint: event.error.hint,
        attempt: event.attempt,
        retry_in: seconds(event.retryAt),
      };
    case 'account-blocked':
      return event.error.code === 'NEEDS_LOGIN'
        ? {
            type: 'account.needs-login',
            level: 'error',
            account: event.account,
            message: event.error.message,
            hint: event.error.hint,
            note: WAITING,
          }
        : {
            type: 'account.blocked',
            level: 'error',
            account: event.account,
            code: event.error.code,
            message: event.error.message,
            hint: event.error.hint,
            note: WAITING,
          };
    case 'account-resumed':
      return { type: 'account.resumed', level: 'info', account: event.account };
    case 'refresh-token-expiring':
      return {
        type: 'account.refresh-token-expiring',
        level: 'warning',
        account: event.account,
        expires_at: new Date(event.expiresAt * 1000).toISOString(),
        expires_in: Math.max(0, Math.round(event.expiresAt - ctx.now)),
        hint: formatHint('log in again before then; run', {
          command: 'setup',
          account: event.account,
          config: ctx.config,
        }),
      };
    case 'reloaded':
      return {
        type: 'daemon.reloaded',
        level: 'info',
        config: ctx.config,
        tokens: ctx.tokens,
        added: event.added.length,
        removed: event.removed.length,
        changed: event.changed.length,
      };
    case 'reload-refused':
      return {
        type: 'daemon.reload-refused',
        level: 'error',
        config: ctx.config,
        code: event.error.code,
        message: event.error.message,
        hint: event.error.hint,
        note: 'new configuration refused; the previous one keeps running',
      };
    case 'warning':
      return { type: 'daemon.warning', level: 'warning', message: event.message };
    case 'stopping':
      return undefined;
    case 'stopped':
      return { type: 'daemon.stopped', level: 'info', reason: ctx.reason };
  }
}

/** The webhook's failures as log events; its successes and retries are not worth a line. */
function webhookLogEvent(e: WebhookLogEvent): LogEvent | undefined {
  if (e.event === 'webhook-failed') {
    return {
      type: 'webhook.failed',
      level: 'warning',
      target: e.target,
      kind: e.kind,
      group: e.group,
      attempt: e.attempt,
      reason: e.reason,
    };
  }
  if (e.event === 'webhook-dropped') {
    return { type: 'webhook.dropped', level: 'warning', target: e.target, kind: e.kind, group: e.group };
  }
  return undefined;
}
