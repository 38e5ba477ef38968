import {
  type ConfigWarning,
  configPlace,
  type RenewerConfig,
  readClientSecretFile,
  readPasswordFile,
} from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { onLocalDisk } from '../files/index.js';
import { passwordFileIdentity } from '../renewal/health.js';
// Not the renewal index: it also re-exports the refresh code, which loads the OIDC client, and a run
// whose tokens are all fresh must not pay for that.
import { type AccountProblem, renewTokens, type TokenOutcome } from '../renewal/renew.js';
import type { Secret } from '../secret.js';
import { onStopSignals, type StopSignals } from '../signals/index.js';
import { formatDuration, nowSeconds } from '../tokens/index.js';
import {
  boolOpt,
  type CliIO,
  type Command,
  type CommandResult,
  countOpt,
  listOpt,
  type ParsedArgs,
  printWarnings,
  secondsOpt,
} from './command.js';
import { EXIT_CODES } from './exit.js';
import { CONFIG_OPTION, clientSecretOf, JSON_OPTION, loadConfig, storeForConfig } from './shared.js';

/** Accounts whose password or client-secret files are read at once. */
const ACCOUNT_FILE_READERS = 16;

/** Tokens named in the "stopped" line; the rest are counted. */
const STOPPED_NAMES_SHOWN = 20;

export const command: Command = {
  name: 'renew',
  summary: 'Renew every [token] of config.ini that has min_lifetime or less left (oneshot).',
  usage:
    'renew [--config PATH] [--force] [--token NAME]... [--timeout SECS] [--parallel N] [--verbose] [--json]',
  details: `Reads osg-token-renewer's config.ini as is. Tokens still valid for more than their min_lifetime
are left alone without contacting the issuer. Tokens of one account are renewed one at a time under a
cross-process lock; accounts in parallel. A valid token on disk is never replaced by a failure.
A mistake in one [token] or [account] section fails only the tokens that depend on it (one line each);
the others are renewed. An account that cannot renew (no credential, wrong password, needs a new login)
makes the run fail even while its tokens are still fresh.
SIGTERM or SIGINT: the refresh in flight is finished and saved, nothing new is started, and the run
exits with 128 + the signal number (143 for SIGTERM, 130 for SIGINT), naming the tokens not done.
What its exit status says: 0 every token fresh or renewed and every account usable; 1 failures of mixed causes, or
of no class below (a token file that cannot be written, a lock not obtained); 2 bad command line; 3 bad configuration (a broken section, an
unreadable password file, or a config file that cannot be read at all); 4 a credential needs attention
(missing, wrong password, needs a new login); 5 the issuer could not be reached or answered badly;
70 internal error. When every failure has one cause, the status is that cause's.`,
  options: {
    ...CONFIG_OPTION,
    force: { type: 'boolean', short: 'f', description: 'renew even tokens that are still fresh' },
    token: {
      type: 'string',
      multiple: true,
      valueName: 'NAME',
      description: 'only this [token] (repeatable)',
    },
    timeout: { type: 'string', valueName: 'SECS', description: 'deadline for the whole run (default 600)' },
    parallel: { type: 'string', valueName: 'N', description: 'accounts worked on at once (default 16)' },
    verbose: { type: 'boolean', short: 'v', description: 'one line per token, not only per failure' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    // From here on a stop signal no longer kills the process: it finishes what is in flight.
    const stop = onStopSignals({
      onStop: (signal) =>
        io.err(
          `tokenwarden: renew: ${signal} received: finishing the refresh in flight, starting nothing new\n`,
        ),
      onRepeat: (signal) =>
        io.err(`tokenwarden: renew: ${signal} received again: still finishing the refresh in flight\n`),
    });
    try {
      return await renew(args, io, stop);
    } finally {
      stop.dispose();
    }
  },
};

async function renew(args: ParsedArgs, io: CliIO, stop: StopSignals): Promise<CommandResult> {
  // The command line is checked before anything is read.
  const timeout = secondsOpt(args, 'timeout', 600);
  const parallel = countOpt(args, 'parallel', 16, 1, 1024);
  const config = await loadConfig(args, io, { collect: true });
  const only = listOpt(args, 'token');
  for (const name of only) {
    if (!config.tokens.some((t) => t.name === name) && !config.brokenTokens.some((t) => t.name === name)) {
      throw new TokenwardenError('USAGE', `--token ${name}: no [token ${name}] in ${config.file}`);
    }
  }
  // Every secret file a token could need is read before any network call; one that cannot be read
  // fails the tokens of its account only.
  const warnings: ConfigWarning[] = [];
  const { passwords, passwordIdentities, unusable } = await readAccountFiles(config, only, warnings);
  printWarnings(io, warnings);
  const deadline = AbortSignal.timeout(timeout * 1000);
  // Last resort: in-flight calls end by their own timeouts; this ends a run that still hangs.
  const hardStop = setTimeout(
    () => {
      io.err(`tokenwarden: renew: run exceeded its ${timeout}s deadline; stopping\n`);
      process.exit(1);
    },
    (timeout + 60) * 1000,
  );
  hardStop.unref();
  const store = storeForConfig(config, passwords);
  const verbose = boolOpt(args, 'verbose');
  const json = boolOpt(args, 'json');
  let outcomes: TokenOutcome[];
  let accounts: AccountProblem[];
  try {
    ({ outcomes, accounts } = await renewTokens({
      config,
      store,
      clientSecret: clientSecretOf,
      signal: deadline,
      stop: stop.signal,
      concurrency: parallel,
      force: boolOpt(args, 'force'),
      only,
      unusable,
      passwordIdentities,
      onOutcome: (o) => {
        if (o.result === 'failed' && !o.stopped) io.err(`${failureLine(o)}\n`);
        else if (verbose && !json && o.result !== 'failed') io.out(`${successLine(o)}\n`);
        if (o.warning) io.err(`tokenwarden: warning: ${o.warning}\n`);
      },
    }));
  } finally {
    clearTimeout(hardStop);
    await store.close();
  }
  for (const a of accounts) io.err(`${accountLine(a)}\n`);
  // Problems that break no token (a header that is neither kind, an account no token uses): still a
  // mistake in the config, reported once each, when the whole config was asked for.
  const tokenErrors = new Set(config.brokenTokens.map((b) => b.error));
  const unreported = only.length > 0 ? [] : config.problems.filter((p) => !tokenErrors.has(p.error));
  for (const p of unreported) io.err(`tokenwarden: ${p.error.message}${hintOf(p.error)}\n`);
  const signal = stop.received;
  const stopped = outcomes.filter((o) => o.stopped).map((o) => o.token);
  if (signal !== undefined) io.err(`${stoppedLine(signal, stopped)}\n`);
  const counts = { renewed: 0, fresh: 0, failed: 0 };
  for (const o of outcomes) counts[o.result]++;
  const status = exitStatus(outcomes, [...accounts.map((a) => a.error), ...unreported.map((p) => p.error)]);
  return {
    exitCode: stop.exitStatus() ?? status,
    text: `renew: ${counts.renewed} renewed, ${counts.fresh} still fresh, ${counts.failed} failed`,
    json: {
      ...counts,
      ...(signal === undefined ? {} : { stopped_by: signal, not_done: stopped }),
      tokens: outcomes.map((o) => ({
        token: o.token,
        account: o.account,
        path: o.path,
        result: o.result,
        ...(o.broken ? { broken: true } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
        ...(o.expiresAt ? { expires_at: o.expiresAt } : {}),
        ...(o.error ? { error: o.error.message, code: o.error.code } : {}),
        ...(o.warning ? { warning: o.warning } : {}),
      })),
      accounts: accounts.map((a) => ({ account: a.account, error: a.error.message, code: a.error.code })),
      problems: unreported.map((p) => ({ error: p.error.message, code: p.error.code })),
    },
  };
}

/**
 * Reads the password file of each refresh-token account and the client_secret_file of each
 * client-credentials account that a selected [token] uses. The identity of each password file is taken
 * just before it is read, so that a verdict remembered under it was made with what was read (or older).
 */
export async function readAccountFiles(
  config: RenewerConfig,
  only: readonly string[],
  warnings: ConfigWarning[],
) {
  const passwords = new Map<string, Secret>();
  const passwordIdentities = new Map<string, string>();
  const unusable = new Map<string, TokenwardenError>();
  const names = [
    ...new Set(config.tokens.filter((t) => only.length === 0 || only.includes(t.name)).map((t) => t.account)),
  ];
  // Accounts are read a few at a time rather than one after another: each read is several small
  // syscalls, and a timer's run with nothing due spends most of its time waiting on them. Warnings are
  // kept per account and merged in config order, each file once, as a sequential read would give them.
  const perAccount: ConfigWarning[][] = names.map(() => []);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      const name = names[i] as string;
      const account = config.accounts.get(name);
      if (account === undefined) continue;
      const context = configPlace(config.file, account.line, `account ${account.name}`);
      const found = perAccount[i] as ConfigWarning[];
      try {
        if (account.kind === 'refresh') {
          // statfs and stat of the file through the thread pool, then, on a local disk, the read without.
          const [identity, local] = await Promise.all([
            passwordFileIdentity(account.passwordFile),
            onLocalDisk(account.passwordFile),
          ]);
          passwords.set(name, await readPasswordFile(account.passwordFile, context, found, { local }));
          if (identity !== undefined) passwordIdentities.set(name, identity);
        } else if (account.clientSecretFile !== undefined) {
          await readClientSecretFile(account.clientSecretFile, context, found);
        }
      } catch (err) {
        if (!(err instanceof TokenwardenError)) throw err;
        unusable.set(name, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ACCOUNT_FILE_READERS, names.length) }, worker));
  for (const w of perAccount.flat()) if (!warnings.some((o) => o.file === w.file)) warnings.push(w);
  return { passwords, passwordIdentities, unusable };
}

/**
 * 0 when nothing failed. When every failure has the same cause class (all a credential needing attention,
 * 4; all the issuer unreachable, 5; all a bad config, 3), that class's status, so a timer unit or cron job
 * can tell them apart; mixed causes give 1.
 */
function exitStatus(outcomes: TokenOutcome[], others: readonly TokenwardenError[]): number {
  const classes = new Set(
    outcomes.filter((o) => o.result === 'failed').map((o) => (o.error ? EXIT_CODES[o.error.code] : 1)),
  );
  for (const e of others) classes.add(EXIT_CODES[e.code]);
  if (classes.size === 0) return 0;
  return classes.size === 1 ? ([...classes][0] as number) : 1;
}

function hintOf(e: TokenwardenError | undefined): string {
  return e?.hint ? ` (${e.hint})` : '';
}

function failureLine(o: TokenOutcome): string {
  const account = o.account === '' ? '' : ` (account ${o.account})`;
  return `tokenwarden: [token ${o.token}]${account}: ${o.error?.message ?? 'failed'}${hintOf(o.error)}`;
}

function accountLine(a: AccountProblem): string {
  return `tokenwarden: [account ${a.account}]: ${a.error.message}${hintOf(a.error)} (its tokens are still fresh, but will not be renewed)`;
}

function stoppedLine(signal: NodeJS.Signals, notDone: string[]): string {
  if (notDone.length === 0) return `tokenwarden: renew: stopped by ${signal}; every token was done`;
  const shown = notDone.slice(0, STOPPED_NAMES_SHOWN).map((n) => `[token ${n}]`);
  const more = notDone.length > shown.length ? ` and ${notDone.length - shown.length} more` : '';
  return `tokenwarden: renew: stopped by ${signal}; not done: ${shown.join(', ')}${more}`;
}

function successLine(o: TokenOutcome): string {
  const left = o.expiresAt === undefined ? '' : `, expires in ${formatDuration(o.expiresAt - nowSeconds())}`;
  return `[token ${o.token}] ${o.result}${left}`;
}
