import type { CredmonConfig } from '../credmon/config/types.js';
import type { CredentialProvider } from '../credmon/providers/types.js';
import { isTokenwardenError, TokenwardenError } from '../errors.js';
import type { Log, LogSink } from '../log/index.js';
import type { WebServer, WebServerTls } from '../web/index.js';
import { boolOpt, type Command, type CommandResult, type ParsedArgs, stringOpt } from './command.js';

/** HTCondor's DAEMON_NO_RESTART (condor_includes/exit.h): condor_master does not restart the daemon. */
export const EXIT_NO_RESTART = 99;
/** The Python credmon's "cannot open the log" status (utils.py setup_logging), which the master reports. */
export const EXIT_LOG_UNWRITABLE = 44;

export const command: Command = {
  name: 'credmon',
  summary: "HTCondor's credential monitor (condor_credmon_oauth), in its place under condor_master.",
  usage:
    'credmon [--name NAME] [--cred-dir DIR] [--log-file PATH] [--debug] [--verbose] [--condor-config FILE] [--listen HOST:PORT|none] [--tls-cert FILE --tls-key FILE] [--web-listen HOST:PORT [--web-only] [--web-behind-proxy]]',
  details: `Keeps the tokens of HTCondor's OAuth credential directory (SEC_CREDENTIAL_DIRECTORY_OAUTH) fresh, file
for file as condor_credmon_oauth does: for every <user>/<svc>.top the CredD or the login web app left,
it writes <user>/<svc>.use (mode 0400, temp file + rename) that the shadow and starter hand to jobs as
$_CONDOR_CREDS/<svc>.use. OAuth2 providers (<SVC>_CLIENT_ID set) are refreshed at their token
endpoint, the rotated refresh token saved into .top before .use is written; the client secret is read
from <SVC>_CLIENT_SECRET_FILE and never written into the directory.
Configuration: HTCondor's own (CONDOR_CONFIG, or --condor-config; _CONDOR_<KNOB> overrides), checked
whole at start. Each credential is renewed from its own token's times: at once when .use is missing
or older than .top, else at half its lifetime (CREDMON_RENEW_FRACTION), early enough that the starter's
next pull (SEC_CREDENTIAL_REFRESH) still gets two periods of it. A full pass (readdir and stat only)
runs at start, at SIGHUP and every CREDMON_SCAN_INTERVAL seconds (60); after each, CREDMON_COMPLETE is
touched (once its renewals are done, or 20 s after its listing while a slow issuer still holds some). One user's or provider's failure (a hung issuer, a refused refresh token, a bad file) is
logged once and stops nothing else; nothing is ever deleted but CredD key files older than 12 hours.
Process contract: refuses a credential directory with any "other" permission bit; writes its pid to
<dir>/pid; SIGHUP scans now; SIGTERM, SIGINT or SIGQUIT: start nothing new, finish what is in flight
(aborted after 30 s), exit 0. Under condor_master: CREDMON_OAUTH = /usr/bin/tokenwarden and
CREDMON_OAUTH_ARGS = credmon (see docs/credmon.md).
Logs to CREDMON_OAUTH_LOG (or --log-file; <NAME>_LOG for --name NAME), one line per event; --verbose
also prints them on stderr, --debug adds the debug events. HTTP (--listen, none by default): a status
page at /, /api/status, /metrics, /healthz, /readyz (ready after the first full pass); an address that
cannot be listened on is logged and the credmon keeps renewing.
The credmon's exit statuses, before the general table below: 0 stopped by SIGTERM, SIGINT or SIGQUIT;
99 the configuration, the credential directory or a provider's key or secret file is wrong (the
master does not restart it); 44 the log file cannot be opened (without --verbose).`,
  options: {
    name: {
      type: 'string',
      short: 'n',
      valueName: 'NAME',
      description: 'daemon name, for <NAME>_LOG and <NAME>.<KNOB> (default CREDMON_OAUTH)',
    },
    'cred-dir': {
      type: 'string',
      short: 'c',
      valueName: 'DIR',
      description: 'the credential directory (default SEC_CREDENTIAL_DIRECTORY_OAUTH)',
    },
    'log-file': {
      type: 'string',
      short: 'l',
      valueName: 'PATH',
      description: 'log file (default CREDMON_OAUTH_LOG, else $(LOG)/CredmonOauthLog)',
    },
    debug: { type: 'boolean', short: 'd', description: 'log debug events too' },
    verbose: {
      type: 'boolean',
      short: 'v',
      description: 'also log to stderr (an unwritable log file is then a warning, not exit 44)',
    },
    'condor-config': {
      type: 'string',
      valueName: 'FILE',
      description: 'HTCondor configuration file (default $CONDOR_CONFIG, then HTCondor search order)',
    },
    listen: {
      type: 'string',
      valueName: 'HOST:PORT',
      description: 'serve the status page, /metrics, /healthz and /readyz here (default none)',
    },
    'tls-cert': {
      type: 'string',
      valueName: 'FILE',
      description: 'serve HTTPS with this PEM certificate (chain); needed to listen beyond loopback',
    },
    'tls-key': { type: 'string', valueName: 'FILE', description: 'the PEM private key of --tls-cert' },
    'web-listen': {
      type: 'string',
      valueName: 'HOST:PORT',
      description:
        'serve the login web app (routes of the Flask app it replaces: /key/<hex>, /login/..., /return/<svc>, /) here (default none)',
    },
    'web-only': {
      type: 'boolean',
      description:
        'run only the login web app (with --web-listen); it tells the credmon running beside it with a SIGHUP to <dir>/pid',
    },
    'web-behind-proxy': {
      type: 'boolean',
      description:
        'the web app is behind Apache or nginx: believe X-Forwarded-Proto, allow plain HTTP on a non-loopback address',
    },
    foreground: {
      type: 'boolean',
      short: 'f',
      description: 'accepted for HTCondor daemons’ -f; the credmon always runs in the foreground',
    },
  },
  async run(args, io): Promise<CommandResult> {
    const listen = parseListen(stringOpt(args, 'listen') ?? 'none');
    const tls = tlsOptions(args);
    const webListen = parseListen(stringOpt(args, 'web-listen') ?? 'none', '--web-listen');
    const webOnly = boolOpt(args, 'web-only');
    if (webOnly && webListen === undefined)
      throw new TokenwardenError(
        'USAGE',
        '--web-only needs --web-listen HOST:PORT: where the login web app listens',
      );
    const web =
      webListen === undefined ? undefined : { ...webListen, behindProxy: boolOpt(args, 'web-behind-proxy') };
    const verbose = boolOpt(args, 'verbose');
    const [{ loadCredmonConfig }, logs] = await Promise.all([
      import('../credmon/config/index.js'),
      import('../log/index.js'),
    ]);

    // 1. The configuration, whole, before any side effect: a mistake is exit 99.
    let config: CredmonConfig;
    let warnings: string[];
    try {
      const loaded = await loadCredmonConfig({
        condorConfig: stringOpt(args, 'condor-config'),
        env: io.env,
        daemonName: stringOpt(args, 'name'),
        overrides: { credDir: stringOpt(args, 'cred-dir'), logFile: stringOpt(args, 'log-file') },
      });
      config = loaded.config;
      warnings = loaded.warnings;
    } catch (err) {
      return fatal(io, err, EXIT_NO_RESTART);
    }

    // 2. The log: CREDMON_OAUTH_LOG, as utils.py setup_logging opens it; 44 when it cannot be.
    const sinks: LogSink[] = [];
    if (config.logFile !== undefined) {
      try {
        sinks.push(logs.fileSink(config.logFile));
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        if (!verbose) {
          io.err(`tokenwarden credmon: could not open the log file ${config.logFile} (${why})\n`);
          io.err('  make its directory writable by the credmon, or set CREDMON_OAUTH_LOG / --log-file\n');
          return { exitCode: EXIT_LOG_UNWRITABLE };
        }
        io.err(
          `tokenwarden credmon: warning: could not open the log file ${config.logFile} (${why}); logging to stderr\n`,
        );
      }
    }
    if (verbose || sinks.length === 0) sinks.push(logs.consoleSink(io.env, { write: io.err }));
    const log = logs.createLog(sinks, { level: boolOpt(args, 'debug') ? 'debug' : 'info' });
    for (const w of warnings) log.emit({ type: 'credmon.warning', level: 'warning', message: w });

    try {
      return webOnly && web !== undefined
        ? await serveWebOnly(config, log, web, tls)
        : await serve(config, log, listen, tls, web);
    } catch (err) {
      if (isTokenwardenError(err) && err.code === 'CONFIG_INVALID') {
        log.emit({ type: 'credmon.warning', level: 'warning', message: `cannot start: ${err.message}` });
        log.close();
        return fatal(io, err, EXIT_NO_RESTART);
      }
      log.close();
      throw err;
    }
  },
};

async function serve(
  config: CredmonConfig,
  log: Log,
  listen: { host: string; port: number } | undefined,
  tls: WebServerTls | undefined,
  web?: WebListen,
): Promise<CommandResult> {
  const [{ createCredmon }, { registerCredmonMetrics }, { createMetrics }, service, { onStopSignals }] =
    await Promise.all([
      import('../credmon/credmon.js'),
      import('../credmon/metrics.js'),
      import('../web/metrics.js'),
      import('../web/service-http.js'),
      import('../signals/index.js'),
    ]);
  const metrics = createMetrics();
  const providers: CredentialProvider[] = await extraProviders(config);
  const credmon = createCredmon({
    config,
    log,
    metrics,
    providers,
    fetch: service.instrumentFetch(fetch, (issuer, seconds, outcome) =>
      metrics.observeIssuerRequest(issuer, seconds, outcome),
    ),
  });
  registerCredmonMetrics(metrics, credmon, [
    ...config.oauth2.map((p) => p.name),
    ...config.local.map((p) => p.name),
    ...config.client.map((p) => p.name),
  ]);

  let stopWith: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stopWith = resolve;
  });
  const stop = onStopSignals({
    signals: ['SIGTERM', 'SIGINT', 'SIGQUIT'],
    onStop: (signal) => {
      log.emit({ type: 'credmon.stopping', level: 'info', reason: signal, in_flight: credmon.inFlight() });
      stopWith(signal);
    },
  });
  // A pass that fails (CREDMON_COMPLETE cannot be touched: EROFS, ENOSPC) is logged: not awaited by
  // anyone, its rejection would otherwise be unhandled and end the process.
  const rescan = (reason: string) => {
    credmon.rescan(reason).catch((err: unknown) =>
      log.emit({
        type: 'credmon.warning',
        level: 'warning',
        message: `a pass failed: ${(err as Error).message}`,
      }),
    );
  };
  const onHup = () => rescan('SIGHUP');
  process.on('SIGHUP', onHup);

  // The credmon's timers do not hold the process open (a library must not); the command does, until a
  // stop signal.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  let http: WebServer | undefined;
  let closeLogin: () => Promise<void> = async () => {};
  try {
    if (listen !== undefined) {
      http = service.createServiceHttp({
        source: credmon,
        metrics,
        host: listen.host,
        port: listen.port,
        ...(tls === undefined ? {} : { tls }),
        log,
      });
      try {
        const url = await http.listen();
        log.emit({
          type: 'daemon.serving',
          level: 'info',
          url: url.href,
          metrics: new URL('/metrics', url).href,
        });
      } catch (err) {
        // The renewals matter more than the status page: logged, and the credmon goes on without HTTP.
        log.emit({
          type: 'credmon.warning',
          level: 'warning',
          message: `--listen ${listen.host}:${listen.port}: cannot listen (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); running without HTTP`,
        });
        await http.close().catch(() => undefined);
        http = undefined;
      }
    }
    let login: { close(): Promise<void> } | undefined;
    if (web !== undefined) {
      const { createLoginServer } = await import('../credmon/web/index.js');
      try {
        const server = await createLoginServer({
          config,
          log,
          host: web.host,
          port: web.port,
          tls,
          trustProxy: web.behindProxy,
          allowPlain: web.behindProxy,
          // A login's tokens are in: renew from them now, as after the CredD's SIGHUP.
          onStored: () => rescan('web login'),
        });
        login = server;
        log.emit({ type: 'credmon.web-serving', level: 'info', url: server.url });
      } catch (err) {
        if (isTokenwardenError(err) && err.code === 'CONFIG_INVALID') throw err;
        log.emit({
          type: 'credmon.warning',
          level: 'warning',
          message: `--web-listen ${web.host}:${web.port}: cannot serve the login web app (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the credmon goes on without it`,
        });
      }
    }
    closeLogin = () => login?.close() ?? Promise.resolve();
    const starting = credmon.start();
    // A stop signal during the first pass ends it; an error of the start (exit 99) ends the command.
    await Promise.race([starting, stopped]);
    const reason = await stopped;
    await credmon.close();
    await starting.catch((err: unknown) => {
      if (!stop.signal.aborted) throw err;
    });
    log.emit({ type: 'credmon.stopped', level: 'info', reason });
    return { exitCode: 0 };
  } finally {
    clearInterval(keepAlive);
    process.off('SIGHUP', onHup);
    stop.dispose();
    await closeLogin().catch(() => undefined);
    await credmon.close();
    await http?.close();
    log.close();
  }
}

interface WebListen {
  host: string;
  port: number;
  behindProxy: boolean;
}

/**
 * `credmon --web-only`: the login web app alone (the Flask app's place, for a site that runs the
 * renewals in another process or host sharing the directory): no pid, no CREDMON_COMPLETE; after a
 * login it sends the credmon a SIGHUP through `<credDir>/pid`, as the CredD does.
 */
async function serveWebOnly(
  config: CredmonConfig,
  log: Log,
  web: WebListen,
  tls: WebServerTls | undefined,
): Promise<CommandResult> {
  const [{ checkCredDir }, webApp, { onStopSignals }] = await Promise.all([
    import('../credmon/cred-dir.js'),
    import('../credmon/web/index.js'),
    import('../signals/index.js'),
  ]);
  await checkCredDir(config.credDir);
  let stopWith: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stopWith = resolve;
  });
  const stop = onStopSignals({
    signals: ['SIGTERM', 'SIGINT', 'SIGQUIT'],
    onStop: (signal) => {
      log.emit({ type: 'credmon.stopping', level: 'info', reason: signal });
      stopWith(signal);
    },
  });
  const keepAlive = setInterval(() => {}, 2 ** 30);
  try {
    const server = await webApp.createLoginServer({
      config,
      log,
      host: web.host,
      port: web.port,
      tls,
      trustProxy: web.behindProxy,
      allowPlain: web.behindProxy,
      onStored: async () => {
        await webApp
          .signalCredmonPid(config.credDir)
          .catch((err: unknown) =>
            log.emit({ type: 'credmon.warning', level: 'warning', message: (err as Error).message }),
          );
      },
    });
    log.emit({ type: 'credmon.web-serving', level: 'info', url: server.url });
    const reason = await stopped;
    await server.close();
    log.emit({ type: 'credmon.stopped', level: 'info', reason });
    return { exitCode: 0 };
  } finally {
    clearInterval(keepAlive);
    stop.dispose();
    log.close();
  }
}

/** The local-issuer and client-credentials providers; the OAuth2 ones the credmon builds itself. */
async function extraProviders(config: CredmonConfig): Promise<CredentialProvider[]> {
  const out: CredentialProvider[] = [];
  if (config.local.length > 0) {
    const { createLocalProvider } = await import('../credmon/providers/local.js');
    for (const p of config.local) out.push(createLocalProvider(p));
  }
  if (config.client.length > 0) {
    const { createClientProvider } = await import('../credmon/providers/client.js');
    // Each with its own discovery cache, kept as long as its TOKEN_ENDPOINT_LIFETIME says.
    for (const p of config.client) out.push(createClientProvider(p));
  }
  return out;
}

function fatal(io: { err(text: string): void }, err: unknown, exitCode: number): CommandResult {
  if (isTokenwardenError(err)) {
    io.err(`tokenwarden credmon: ${err.message}\n`);
    if (err.hint) io.err(`  ${err.hint}\n`);
    return { exitCode };
  }
  throw err;
}

function parseListen(value: string, option = '--listen'): { host: string; port: number } | undefined {
  if (value === 'none') return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new TokenwardenError(
      'USAGE',
      `${option} ${value}: expected HOST:PORT (for example 127.0.0.1:9465), or none`,
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function tlsOptions(args: ParsedArgs): WebServerTls | undefined {
  const certFile = stringOpt(args, 'tls-cert');
  const keyFile = stringOpt(args, 'tls-key');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new TokenwardenError('USAGE', '--tls-cert and --tls-key go together: give both, or neither');
  }
  return { certFile, keyFile };
}
