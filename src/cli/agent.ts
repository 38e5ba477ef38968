import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
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
  usage: 'agent [--foreground] [--socket PATH] [--lifetime SECS] | agent --kill',
  details: `eval "$(tokenwarden agent)" starts the agent in the background and sets TOKENWARDEN_SOCK and
OIDC_SOCK, so both tokenwarden and oidc-agent's oidc-token talk to it. The socket (mode 0600) lives in
$XDG_RUNTIME_DIR/tokenwarden/ (mode 0700), or in a new private directory when XDG_RUNTIME_DIR is unset.
Accounts are loaded with \`tokenwarden add\` and stay in memory (decrypted) for --lifetime seconds
(default: until removed or the agent stops). If an agent already answers on the socket, its lines are
printed again.`,
  options: {
    foreground: {
      type: 'boolean',
      short: 'd',
      description: 'stay in the foreground (for systemd or debugging)',
    },
    socket: { type: 'string', valueName: 'PATH', description: 'socket path (default described below)' },
    lifetime: { type: 'string', valueName: 'SECS', description: 'how long added accounts stay loaded' },
    kill: { type: 'boolean', short: 'k', description: 'stop the running agent' },
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
    if (boolOpt(args, 'foreground')) return runForeground(socketPath, lifetime, io, bearer);
    const passOn = args.values;
    const forwarded = [
      'bearer-account',
      'bearer-file',
      'bearer-aud',
      'bearer-scope',
      'bearer-min-valid',
    ].flatMap((k) => (typeof passOn[k] === 'string' ? [`--${k}`, passOn[k] as string] : []));
    // The detached agent's stderr goes to a log in its private socket directory, so a failure to start
    // (or a bearer-file error later) can be read, and is shown here when the start fails.
    await prepareSocketDirectory(socketPath);
    const logPath = agentLogPath(socketPath);
    const log = openSync(logPath, 'w', 0o600);
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
    const said = readFileSync(logPath, 'utf8').trim().split('\n').slice(-3).join('\n').trim();
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
) {
  const { createAgent } = await import('../agent/index.js');
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const agent = createAgent({
    socketPath,
    lifetimeSeconds: lifetime || undefined,
    onKill: () => stop(),
    bearerFile,
    log: (line) => io.err(`tokenwarden agent: ${line}\n`),
  });
  await agent.start();
  io.out(`${exportLines(socketPath, process.pid)}\n`);
  process.once('SIGTERM', () => stop());
  process.once('SIGINT', () => stop());
  process.once('SIGHUP', () => stop());
  await stopped;
  await agent.close();
  await removePrivateSocketDirectory(socketPath);
  return { exitCode: 0 };
}
