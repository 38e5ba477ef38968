import type { ConfigWarning } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import type { DaemonConfig, DaemonEvent } from '../renewal/daemon.js';
import { formatDuration } from '../tokens/index.js';
import { type CliIO, type Command, countOpt, type ParsedArgs, printWarnings } from './command.js';
import { readAccountFiles } from './renew.js';
import { CONFIG_OPTION, clientSecretOf, loadConfig, storeForConfig } from './shared.js';

export const command: Command = {
  name: 'daemon',
  summary: 'Keep every [token] of config.ini renewed, each on its own schedule (long-running).',
  usage: 'daemon [--config PATH] [--concurrency N] [--retry-base SECS] [--retry-max SECS]',
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
    const [{ createDaemon }, { onStopSignals }] = await Promise.all([
      import('../renewal/daemon.js'),
      import('../signals/index.js'),
    ]);
    let stopped: (signal: NodeJS.Signals) => void = () => {};
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      stopped = resolve;
    });
    // Taken before the first renewal: a stop asked during start-up still finishes cleanly.
    const signals = onStopSignals({
      onStop: (signal) => {
        io.err(`tokenwarden: daemon: ${signal} received: finishing the refresh in flight, then exiting\n`);
        stopped(signal);
      },
      onRepeat: (signal) =>
        io.err(`tokenwarden: daemon: ${signal} received again: still finishing the refresh in flight\n`),
    });
    // Timers are unref'd; this keeps the process up while it waits for them.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const daemon = createDaemon({
      load: () => loadDaemonConfig(args, io),
      log: (event) => {
        const line = formatDaemonEvent(event, Date.now() / 1000);
        if (line !== undefined) io.err(`${line}\n`);
      },
      concurrency,
      backoffBaseSeconds,
      backoffCapSeconds,
    });
    const onHangup = () => {
      io.err('tokenwarden: daemon: SIGHUP received: loading the configuration again\n');
      void daemon.reload();
    };
    try {
      await daemon.start();
      process.on('SIGHUP', onHangup);
      await stopSignal;
    } finally {
      process.off('SIGHUP', onHangup);
      await daemon.close();
      clearInterval(keepAlive);
      signals.dispose();
    }
    return { exitCode: 0 };
  },
};

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
