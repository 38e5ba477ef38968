import type { ConfigWarning, RenewerConfig, WebhookConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import type { DaemonConfig, DaemonEvent } from '../renewal/daemon.js';
import { removeDaemonInfo, writeDaemonInfo } from '../renewal/daemon-info.js';
import { formatDuration } from '../tokens/index.js';
import type { WebServer } from '../web/index.js';
import type { WebhookNotifier } from '../web/webhook.js';
import { type CliIO, type Command, countOpt, type ParsedArgs, printWarnings, stringOpt } from './command.js';
import { readAccountFiles } from './renew.js';
import { CONFIG_OPTION, clientSecretOf, loadConfig, storeForConfig } from './shared.js';

export const command: Command = {
  name: 'daemon',
  summary: 'Keep every [token] of config.ini renewed, each on its own schedule (long-running).',
  usage:
    'daemon [--config PATH] [--listen HOST:PORT|none] [--tls-cert FILE --tls-key FILE] [--concurrency N] [--retry-base SECS] [--retry-max SECS]',
  details: `Runs the work of renew continuously. Each [token] is renewed on its own timer: at
max(exp - min_lifetime, iat + half its lifetime), minus a small random jitter (at most 5 minutes and a
tenth of the lifetime) so tokens issued together do not all come due together; a missing or expired
token at once. Tokens of one account are renewed one at a time, under the same cross-process lock as
renew (so renew, the agent and the daemon can share an account); accounts in parallel.
A failure that may pass (network, timeout, HTTP 408, 429, 5xx) is retried with capped exponential
backoff and jitter (--retry-base, 10 s, doubling up to --retry-max, 600 s), never sooner than the issuer's Retry-After; the
token on disk is kept meanwhile. An account whose refresh token was refused (needs a new login), that
has no credential, or whose credential does not decrypt is not retried: the daemon looks at its
credential and password files every minute and resumes when they change (after a new setup).
A broken [token] or [account] section is reported and skipped; the other tokens run.
SIGHUP: load config.ini again. A config that cannot be read, or that has any broken section, is refused
with the same message renew prints, and the running configuration is kept. Otherwise removed tokens
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
Logs one line per event on stderr (renewed, failed and when it is retried, reload); never a secret.`,
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
      log,
    ] = await Promise.all([
      import('../renewal/daemon.js'),
      import('../renewal/daemon-http.js'),
      import('../signals/index.js'),
      import('../web/metrics.js'),
      import('../web/webhook.js'),
      import('../log/index.js'),
    ]);
    const httpLog = log.createLog([log.consoleSink(io.env)]);
    const metrics = createMetrics();
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
      notifier = web.createWebhookNotifier({
        url: config.url,
        timeoutMs: config.timeoutSeconds * 1000,
        service: 'tokenwarden daemon',
        log: (e) => {
          if (e.event === 'webhook-failed' || e.event === 'webhook-dropped') {
            io.err(`tokenwarden: daemon: ${e.event} ${e.target} (${e.kind}, ${e.group})\n`);
          }
        },
      });
    };
    let daemon: ReturnType<typeof createDaemon> | undefined;
    const notify = () => {
      if (notifier !== undefined && daemon !== undefined) notifier.update(daemon.snapshot().warnings);
    };
    daemon = createDaemon({
      load: async () => {
        const loaded = await loadDaemonConfig(args, io);
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
        const line = formatDaemonEvent(event, Date.now() / 1000);
        if (line !== undefined) io.err(`${line}\n`);
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
        io.err(`tokenwarden: daemon: ${signal} received: finishing the refresh in flight, then exiting\n`);
        stopped(signal);
      },
      onRepeat: (signal) =>
        io.err(`tokenwarden: daemon: ${signal} received again: still finishing the refresh in flight\n`),
      onReload: async () => {
        io.err('tokenwarden: daemon: SIGHUP received: loading the configuration again\n');
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
      if (listen !== undefined) {
        http = createDaemonHttp({
          daemon: running,
          metrics,
          host: listen.host,
          port: listen.port,
          ...(tls ? { tls } : {}),
          log: httpLog,
        });
        const url = await http.listen();
        io.err(`tokenwarden: daemon: serving ${url.href} (status page; ${url.href}metrics for Prometheus)\n`);
        const snapshot = running.snapshot();
        if (accepted !== undefined && snapshot.configFile !== undefined) {
          info = { stateDir: accepted.stateDir };
          await writeDaemonInfo(accepted.stateDir, {
            pid: process.pid,
            url: url.href,
            config: snapshot.configFile,
            startedAt: snapshot.startedAt,
          }).catch((err: unknown) => {
            io.err(`tokenwarden: daemon: warning: status cannot find this daemon: ${messageOf(err)}\n`);
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
      httpLog.close();
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

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** config.ini as renew loads it (broken sections collected), its secret files read, and a store for it. */
async function loadDaemonConfig(args: ParsedArgs, io: CliIO): Promise<DaemonConfig> {
  const config = await loadConfig(args, io, { collect: true });
  const warnings: ConfigWarning[] = [];
  const { passwords, passwordIdentities, unusable } = await readAccountFiles(config, [], warnings);
  printWarnings(io, warnings);
  return {
    config,
    store: storeForConfig(config, passwords),
    clientSecret: clientSecretOf,
    passwordIdentities,
    unusable,
  };
}

/** One line per event, for stderr (the journal under systemd); undefined for events not worth a line. */
export function formatDaemonEvent(event: DaemonEvent, now: number): string | undefined {
  const p = 'tokenwarden: daemon:';
  switch (event.type) {
    case 'started':
      return `${p} started: ${event.tokens} token(s) of ${event.accounts} account(s)${
        event.broken > 0 ? `, ${event.broken} broken [token] section(s) skipped` : ''
      }`;
    case 'renewed': {
      const left =
        event.expiresAt === undefined ? '' : `, expires in ${formatDuration(event.expiresAt - now)}`;
      return `${p} [token ${event.token}] renewed${left}; next renewal in ${formatDuration(event.nextAt - now)}`;
    }
    case 'failed': {
      const retry =
        event.retryAt === undefined
          ? 'not retried until the credential changes or the config is reloaded'
          : `retry in ${formatDuration(Math.max(0, event.retryAt - now))}`;
      return `tokenwarden: [token ${event.token}] (account ${event.account}): ${describe(event.error)}; ${retry} (attempt ${event.attempt})`;
    }
    case 'account-blocked':
      return `tokenwarden: [account ${event.account}]: ${describe(event.error)}; waiting for its credential to change`;
    case 'account-resumed':
      return `${p} [account ${event.account}]: its credential changed; renewing again`;
    case 'reloaded':
      return `${p} configuration loaded: ${event.added.length} token(s) added, ${event.removed.length} removed, ${event.changed.length} changed`;
    case 'reload-refused':
      return `tokenwarden: ${describe(event.error)}\n${p} new configuration refused; the previous one keeps running`;
    case 'warning':
      return `tokenwarden: warning: ${event.message}`;
    case 'stopping':
      return undefined;
    case 'stopped':
      return `${p} stopped`;
  }
}

function describe(error: TokenwardenError): string {
  return error.hint ? `${error.message} (${error.hint})` : error.message;
}
