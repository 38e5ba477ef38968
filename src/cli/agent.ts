import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentRequest } from '../agent/client.js';
import {
  agentLogPath,
  clientSocketPath,
  newSocketPath,
  prepareSocketDirectory,
  removePrivateSocketDirectory,
} from '../agent/paths.js';
import { TokenwardenError } from '../errors.js';
import { defaultBearerTokenPath } from '../tokens/discovery.js';
import { askAgent } from './agent-client.js';
import {
  boolOpt,
  type CliIO,
  type Command,
  LIFETIME_MAX,
  type ParsedArgs,
  secondsOpt,
  stringOpt,
} from './command.js';

export const command: Command = {
  name: 'agent',
  summary: 'Start the per-user agent (prints export lines for eval), or --kill it.',
  usage: 'agent [--foreground] [--socket PATH] [--lifetime SECS] [--log-file PATH] | agent --kill',
  details: `eval "$(tokenwarden agent)" starts the agent in the background and sets TOKENWARDEN_SOCK and
OIDC_SOCK, so both tokenwarden and oidc-agent's oidc-token talk to it (oidc-add -a lists the loaded
accounts; oidc-add NAME, -r, -R and oidc-gen are refused with the tokenwarden command to use). The socket (mode 0600) lives in
$XDG_RUNTIME_DIR/tokenwarden/ (mode 0700), or in a new private directory when XDG_RUNTIME_DIR is unset.
Accounts are loaded with \`tokenwarden add\` and stay in memory (decrypted) for --lifetime seconds
(default: until removed or the agent stops). If an agent already answers on the socket, its lines are
printed again.

The agent logs its start and stop, accounts added, removed and expired, failed refreshes and accounts
that need a new login (never a token or password): to --log-file (mode 0600, rotated to PATH.1 at 1 MiB),
else to stderr. The background agent logs to agent.log beside its socket. SIGTERM, SIGINT and SIGHUP stop
it gracefully: a refresh in flight finishes and is saved, new requests are refused, the socket is
removed; a second signal does not cut a refresh short (that would lose its rotated refresh token): it
is logged, and SIGKILL remains for whoever cannot wait.`,
  options: {
    foreground: {
      type: 'boolean',
      short: 'd',
      description: 'stay in the foreground (for systemd or debugging)',
    },
    socket: { type: 'string', valueName: 'PATH', description: 'socket path (default described below)' },
    lifetime: { type: 'string', valueName: 'SECS', description: 'how long added accounts stay loaded' },
    kill: { type: 'boolean', short: 'k', description: 'stop the running agent' },
    'log-file': {
      type: 'string',
      valueName: 'PATH',
      description: 'append the log to PATH (default: stderr; agent.log beside the socket in the background)',
    },
    'bearer-account': {
      type: 'string',
      valueName: 'ACCOUNT',
      description: 'keep a fresh token of ACCOUNT in --bearer-file',
    },
    'bearer-file': {
      type: 'string',
      valueName: 'PATH',
      description:
        'where (default: WLCG discovery: $BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>, /tmp/bt_u<uid>)',
    },
    'bearer-aud': { type: 'string', valueName: 'A', description: 'audience(s) of the bearer-file token' },
    'bearer-scope': { type: 'string', valueName: 'S', description: 'scope(s) of the bearer-file token' },
    'bearer-min-valid': {
      type: 'string',
      valueName: 'SECS',
      description: 'rewrite when less is left (default 120)',
    },
  },
  async run(args, io) {
    if (boolOpt(args, 'kill')) {
      await askAgent(io, { request: 'tw_kill' }, 5000, stringOpt(args, 'socket') ?? clientSocketPath(io.env));
      return { text: 'unset TOKENWARDEN_SOCK; unset OIDC_SOCK; unset TOKENWARDEN_PID;\necho Agent stopped;' };
    }
    const lifetime = secondsOpt(args, 'lifetime', 0, { allowZero: true, max: LIFETIME_MAX });
    const existing = stringOpt(args, 'socket') ?? clientSocketPath(io.env);
    if (existing && !boolOpt(args, 'foreground')) {
      const pid = await ping(existing);
      if (pid !== undefined) return { text: exportLines(existing, pid) };
    }
    const socketPath = existing ?? (await newSocketPath(io.env));
    const bearer = bearerOptions(args, io);
    if (boolOpt(args, 'foreground'))
      return runForeground(socketPath, lifetime, io, bearer, stringOpt(args, 'log-file'));
    const passOn = args.values;
    const forwarded = [
      'bearer-account',
      'bearer-file',
      'bearer-aud',
      'bearer-scope',
      'bearer-min-valid',
    ].flatMap((k) => (typeof passOn[k] === 'string' ? [`--${k}`, passOn[k] as string] : []));
    // The detached agent logs to agent.log in its private socket directory; its stderr goes there too,
    // so a failure to start can be read, and is shown here when the start fails.
    await prepareSocketDirectory(socketPath, io.env);
    const logPath = stringOpt(args, 'log-file') ?? agentLogPath(socketPath);
    const log = openSync(
      logPath,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o600,
    );
    const logStart = readFileSync(logPath).length;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(
        process.execPath,
        [
          fileURLToPath(new URL('./main.js', import.meta.url)),
          'agent',
          '--foreground',
          '--socket',
          socketPath,
          '--lifetime',
          String(lifetime),
          '--log-file',
          logPath,
          ...forwarded,
        ],
        { detached: true, stdio: ['ignore', 'ignore', log], env: io.env as NodeJS.ProcessEnv },
      );
    } finally {
      closeSync(log);
    }
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    child.unref();
    for (let i = 0; i < 200 && !exited; i++) {
      const pid = await ping(socketPath);
      if (pid !== undefined) return { text: exportLines(socketPath, pid) };
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) child.kill('SIGTERM');
    const said = readFileSync(logPath)
      .subarray(logStart)
      .toString('utf8')
      .trim()
      .split('\n')
      .slice(-3)
      .join('\n')
      .trim();
    throw new TokenwardenError('AGENT_START', `the agent did not start (socket ${socketPath})`, {
      hint: said ? `it said:\n  ${said.replace(/\n/g, '\n  ')}` : `see ${logPath}`,
    });
  },
};

async function ping(socket: string): Promise<number | undefined> {
  try {
    const reply = await agentRequest(socket, { request: 'tw_ping' }, 2000);
    return reply.status === 'success' ? Number(reply.pid) : undefined;
  } catch {
    return undefined;
  }
}

function exportLines(socket: string, pid: number): string {
  return [
    `TOKENWARDEN_SOCK=${socket}; export TOKENWARDEN_SOCK;`,
    `OIDC_SOCK=${socket}; export OIDC_SOCK;`,
    `TOKENWARDEN_PID=${pid}; export TOKENWARDEN_PID;`,
    `echo Agent pid ${pid};`,
  ].join('\n');
}

type BearerOptions = { account: string; path: string; audience: string[]; scope: string[]; minValid: number };

function bearerOptions(args: ParsedArgs, io: CliIO): BearerOptions | undefined {
  const account = stringOpt(args, 'bearer-account');
  if (account === undefined) {
    if (stringOpt(args, 'bearer-file'))
      throw new TokenwardenError('USAGE', '--bearer-file needs --bearer-account');
    return undefined;
  }
  const split = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  const minValid = secondsOpt(args, 'bearer-min-valid', 120, { allowZero: true, max: 86400 });
  const path = stringOpt(args, 'bearer-file') ?? defaultBearerTokenPath(io.env, io.uid);
  return {
    account,
    path,
    audience: split(stringOpt(args, 'bearer-aud')),
    scope: split(stringOpt(args, 'bearer-scope')),
    minValid,
  };
}

async function runForeground(
  socketPath: string,
  lifetime: number,
  io: CliIO,
  bearerFile: BearerOptions | undefined,
  logFile: string | undefined,
) {
  const { createAgent } = await import('../agent/index.js');
  const { agentLogger } = await import('../agent/log.js');
  const { createLog, fileSink, stderrSink } = await import('../log/index.js');
  const { onStopSignals } = await import('../signals/index.js');
  const events = createLog([logFile ? fileSink(logFile) : stderrSink({ write: io.err })]);
  const log = agentLogger(events);
  let stop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  const agent = createAgent({
    socketPath,
    lifetimeSeconds: lifetime || undefined,
    onKill: () => stop('agent --kill'),
    bearerFile,
    log,
  });
  // Signals are taken before the socket exists: a stop asked during start-up still closes it cleanly.
  // SIGHUP too: a terminal that goes away should not leave a refresh half done. A second signal does
  // not exit mid-refresh either: the issuer may have rotated the refresh token that is being saved.
  const signals = onStopSignals({
    signals: ['SIGTERM', 'SIGINT', 'SIGHUP'],
    onStop: (signal) => stop(signal),
    onRepeat: (signal) => log('stop-repeated', { signal, note: 'still finishing the refresh in flight' }),
  });
  try {
    try {
      await agent.start();
    } catch (err) {
      // The error itself goes to stderr (which the background agent's starter shows).
      await agent.close('start failed');
      throw err;
    }
    io.out(`${exportLines(socketPath, process.pid)}\n`);
    await agent.close(await stopped);
  } finally {
    signals.dispose();
    events.close();
  }
  await removePrivateSocketDirectory(socketPath);
  return { exitCode: 0 };
}
