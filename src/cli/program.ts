import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isTokenwardenError, TokenwardenError } from '../errors.js';
import { didYouMean, parseCommandArgs } from './args.js';
import type { CliIO, Command, CommandResult, OptionSpec } from './command.js';
import { EXIT_CODES, exitStatusHelp } from './exit.js';
import { redact } from './redact.js';

/** Commands are imported only when run, so start-up stays fast (`token` is called per job). */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  setup: {
    summary: 'register a client and log in; store the account encrypted',
    load: () => import('./setup.js'),
  },
  renew: {
    summary: 'renew every [token] of config.ini that needs it (oneshot)',
    load: () => import('./renew.js'),
  },
  daemon: {
    summary: 'keep every [token] renewed, each on its own schedule (long-running)',
    load: () => import('./daemon.js'),
  },
  credmon: {
    summary: "HTCondor's credential monitor (condor_credmon_oauth) for the OAuth credential directory",
    load: () => import('./credmon.js'),
  },
  status: {
    summary: 'show every token: expires in, last renewal, last error',
    load: () => import('./status.js'),
  },
  inspect: {
    summary: 'decode a token: claims, issuer, audience, scopes, time left',
    load: () => import('./inspect.js'),
  },
  discover: {
    summary: 'find the bearer token the WLCG discovery rules select',
    load: () => import('./discover.js'),
  },
  units: {
    summary:
      'print (or install) systemd units and the cron line for renew; --daemon: the daemon service; --agent: a user unit',
    load: () => import('./units.js'),
  },
  agent: {
    summary: 'start the per-user agent (eval "$(tokenwarden agent)"), or --kill it',
    load: () => import('./agent.js'),
  },
  add: { summary: 'load an account into the agent', load: () => import('./add.js') },
  remove: { summary: 'unload an account from the agent', load: () => import('./remove.js') },
  list: { summary: 'list the accounts loaded in the agent', load: () => import('./list.js') },
  migrate: {
    summary: 'take over an osg-token-renewer site: its oidc-agent accounts, for renew (as root)',
    load: () => import('./migrate.js'),
  },
  'import-oidc-agent': {
    summary: 'import an oidc-agent account file as a tokenwarden account',
    load: () => import('./import-oidc-agent.js'),
  },
  token: {
    summary: 'print an access token from the agent (like oidc-token)',
    load: () => import('./token.js'),
  },
  demo: { summary: 'run everything against the bundled test issuer', load: () => import('./demo.js') },
  issuer: {
    summary: 'a local token issuer: keygen, serve (discovery + JWKS), mint tokens for scripts',
    load: () => import('./issuer.js'),
  },
  'credential-producer': {
    summary: "print the credential request HTCondor's SEC_CREDENTIAL_PRODUCER expects",
    load: () => import('./credential-producer.js'),
  },
  'test-issuer': {
    summary: 'run the bundled test OpenID provider on 127.0.0.1',
    load: () => import('./test-issuer.js'),
  },
};

const COMMON: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: tokenwarden <command> [options]',
    '',
    'Keeps OAuth2 bearer tokens (WLCG JWT, SciTokens) valid on disk.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `tokenwarden <command> --help` for the options of one command.',
    '  --version  print the version',
    '',
    ...exitStatusHelp(),
    '',
  ].join('\n');
}

/**
 * The help of a command, or of one of its subcommands (`sub`): then only the subcommand's usage and
 * options, its own text, then the command's text (what all its subcommands share).
 */
export function commandHelp(command: Command, sub?: string): string {
  const subs = command.subcommands ?? {};
  const help = sub !== undefined && Object.hasOwn(subs, sub) ? subs[sub] : undefined;
  const options =
    help === undefined
      ? { ...command.options, ...COMMON }
      : {
          ...Object.fromEntries(
            Object.entries(command.options).filter(([name]) => help.options.includes(name)),
          ),
          ...COMMON,
        };
  const listed = help === undefined ? Object.entries(subs) : [];
  const subWidth = Math.max(0, ...listed.map(([name]) => name.length));
  const list =
    listed.length === 0
      ? undefined
      : [
          'Subcommands:',
          ...listed.map(([name, h]) => `  ${name.padEnd(subWidth)}  ${h.summary}`),
          `Run \`tokenwarden ${command.name} SUBCOMMAND --help\` for the help of one.`,
        ].join('\n');
  const details = [help?.details, list, command.details].filter((d): d is string => d !== undefined);
  const rows = Object.entries(options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
    return [`  ${short}--${name}${value}`, spec.description];
  });
  const width = Math.max(...rows.map((r) => (r[0] as string).length));
  return [
    `Usage: tokenwarden ${help?.usage ?? command.usage}`,
    '',
    help?.summary ?? command.summary,
    '',
    'Options:',
    ...rows.map(([a, b]) => `${(a as string).padEnd(width)}  ${b}`),
    ...details.flatMap((d) => ['', d.trimEnd()]),
    '',
    ...exitStatusHelp(),
    '',
  ].join('\n');
}

export function makeIO(): CliIO {
  return {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(redact(text)),
    stdin: process.stdin,
    stdinIsTTY: process.stdin.isTTY === true,
    uid: process.getuid?.() ?? 0,
    home: process.env.HOME ?? homedir(),
  };
}

function render(result: CommandResult, json: boolean, io: CliIO): void {
  if (json && result.json !== undefined) io.out(`${JSON.stringify(result.json, null, 2)}\n`);
  else if (result.text) io.out(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
}

/** The single error boundary: maps errors to exit statuses and one clear line; no stack for a user's mistake. */
export async function main(argv: string[], io: CliIO = makeIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`tokenwarden ${version()}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  try {
    if (entry === undefined) {
      const known = Object.keys(COMMANDS);
      throw new TokenwardenError(
        'USAGE',
        `unknown command ${JSON.stringify(name)}${didYouMean(name, known)}`,
        { hint: 'run `tokenwarden --help` for the list of commands' },
      );
    }
    const { command } = await entry.load();
    const options = { ...command.options, ...COMMON };
    // --help wins over any mistake in the other arguments; after a subcommand, it is that one's help.
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(
        commandHelp(
          command,
          rest.find((a) => !a.startsWith('-')),
        ),
      );
      return 0;
    }
    const parsed = parseCommandArgs(name, rest, options, command.allowPositionals ?? false);
    if (parsed.values.help === true) {
      io.out(commandHelp(command, parsed.positionals[0]));
      return 0;
    }
    const result = await command.run(parsed, io);
    render(result, parsed.values.json === true, io);
    return result.exitCode ?? 0;
  } catch (err) {
    return reportError(err, io);
  }
}

export function reportError(err: unknown, io: CliIO): number {
  if (isTokenwardenError(err)) {
    io.err(`tokenwarden: ${err.message}\n`);
    if (err.hint) io.err(`  ${err.hint}\n`);
    if (io.env.TOKENWARDEN_DEBUG && err.cause) io.err(`  cause: ${String(err.cause)}\n`);
    return EXIT_CODES[err.code] ?? 1;
  }
  io.err(`tokenwarden: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (io.env.TOKENWARDEN_DEBUG && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
  else io.err('  this is a bug in tokenwarden; set TOKENWARDEN_DEBUG=1 for details and report it\n');
  return EXIT_CODES.INTERNAL;
}
