import { type ConfigWarning, checkAccountFiles } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { renewTokens, type TokenOutcome } from '../renewal/index.js';
import { formatDuration, nowSeconds } from '../tokens/index.js';
import { boolOpt, type Command, countOpt, listOpt, printWarnings, secondsOpt } from './command.js';
import { EXIT_CODES } from './exit.js';
import { CONFIG_OPTION, clientSecretOf, JSON_OPTION, loadConfig, storeForConfig } from './shared.js';

export const command: Command = {
  name: 'renew',
  summary: 'Renew every [token] of config.ini that has min_lifetime or less left (oneshot).',
  usage: 'renew [--config PATH] [--force] [--token NAME]... [--timeout SECS] [--json]',
  details: `Reads osg-token-renewer's config.ini as is. Tokens still valid for more than their min_lifetime
are left alone without contacting the issuer. Tokens of one account are renewed one at a time under a
cross-process lock; accounts in parallel. A valid token on disk is never replaced by a failure.
Exit status: 0 all tokens fresh or renewed; 1 some token failed (one line each on stderr);
3 bad configuration; 4 a credential needs attention; 2 bad command line.`,
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
    const config = await loadConfig(args, io);
    const only = listOpt(args, 'token');
    for (const name of only) {
      if (!config.tokens.some((t) => t.name === name)) {
        throw new TokenwardenError('USAGE', `--token ${name}: no [token ${name}] in ${config.file}`);
      }
    }
    const timeout = secondsOpt(args, 'timeout', 600);
    const parallel = countOpt(args, 'parallel', 16, 1, 1024);
    // Every password file a due token could need is checked before any network call.
    const warnings: ConfigWarning[] = [];
    const passwords = await checkAccountFiles(config, warnings);
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
    let outcomes: TokenOutcome[];
    try {
      outcomes = await renewTokens({
        config,
        store,
        clientSecret: clientSecretOf,
        signal: deadline,
        concurrency: parallel,
        force: boolOpt(args, 'force'),
        only,
        onOutcome: (o) => {
          if (o.result === 'failed') io.err(`${failureLine(o)}\n`);
          else if (verbose && !boolOpt(args, 'json')) io.out(`${successLine(o)}\n`);
        },
      });
    } finally {
      clearTimeout(hardStop);
      await store.close();
    }
    const counts = { renewed: 0, fresh: 0, failed: 0 };
    for (const o of outcomes) counts[o.result]++;
    return {
      exitCode: exitStatus(outcomes),
      text: `renew: ${counts.renewed} renewed, ${counts.fresh} still fresh, ${counts.failed} failed`,
      json: {
        ...counts,
        tokens: outcomes.map((o) => ({
          token: o.token,
          account: o.account,
          path: o.path,
          result: o.result,
          ...(o.reason ? { reason: o.reason } : {}),
          ...(o.expiresAt ? { expires_at: o.expiresAt } : {}),
          ...(o.error ? { error: o.error.message, code: o.error.code } : {}),
        })),
      },
    };
  },
};

/**
 * 0 when nothing failed. When every failure has the same cause class (all a credential needing attention,
 * 4; all the issuer unreachable, 5; all a bad config, 3), that class's status, so a timer unit or cron job
 * can tell them apart; mixed causes give 1.
 */
function exitStatus(outcomes: TokenOutcome[]): number {
  const classes = new Set(
    outcomes.filter((o) => o.result === 'failed').map((o) => (o.error ? EXIT_CODES[o.error.code] : 1)),
  );
  if (classes.size === 0) return 0;
  return classes.size === 1 ? ([...classes][0] as number) : 1;
}

function failureLine(o: TokenOutcome): string {
  const hint = o.error?.hint ? ` (${o.error.hint})` : '';
  return `tokenwarden: [token ${o.token}] (account ${o.account}): ${o.error?.message ?? 'failed'}${hint}`;
}

function successLine(o: TokenOutcome): string {
  const left = o.expiresAt === undefined ? '' : `, expires in ${formatDuration(o.expiresAt - nowSeconds())}`;
  return `[token ${o.token}] ${o.result}${left}`;
}
