import { TokenwardenError } from '../errors.js';
import { askAgent } from './agent-client.js';
import { boolOpt, type Command, secondsOpt, stringOpt } from './command.js';

/** Kept free of heavy imports: it runs once per job and its start-up time is the command's cost. */
export const command: Command = {
  name: 'token',
  summary: 'Print an access token for a loaded account, from the agent (cached while it has --time left).',
  usage: 'token ACCOUNT|ISSUER_URL [--aud A] [--scope S] [--time SECS] [--force] [--env | --json]',
  details: `Like oidc-token: the agent serves a cached token for this (account, audience, scope) while it has
at least --time seconds left (default 60), and refreshes it otherwise. --aud and --scope take
space-separated lists. --env prints OIDC_AT, OIDC_ISS and OIDC_EXP export lines.`,
  allowPositionals: true,
  options: {
    aud: { type: 'string', valueName: 'A', description: 'audience(s), space-separated' },
    scope: { type: 'string', short: 's', valueName: 'S', description: 'scope(s), space-separated' },
    time: { type: 'string', short: 't', valueName: 'SECS', description: 'minimum seconds left (default 60)' },
    force: { type: 'boolean', short: 'f', description: 'get a new token even if one is cached' },
    env: { type: 'boolean', short: 'c', description: 'print shell export lines' },
    json: { type: 'boolean', description: 'print JSON: access_token, expires_at, issuer, scope, audience' },
    timeout: { type: 'string', valueName: 'SECS', description: 'give up after SECS (default 30)' },
  },
  async run(args, io) {
    const target = args.positionals[0];
    if (target === undefined || args.positionals.length > 1) {
      throw new TokenwardenError('USAGE', 'token needs one ACCOUNT (or issuer URL)', {
        hint: 'run `tokenwarden token --help`',
      });
    }
    const time = secondsOpt(args, 'time', 60, { allowZero: true, max: 10 * 365 * 86400 });
    const timeout = secondsOpt(args, 'timeout', 30);
    const byIssuer = /^https?:\/\//.test(target);
    const reply = await askAgent(
      io,
      {
        request: 'access_token',
        ...(byIssuer ? { issuer: target } : { account: target }),
        min_valid_period: time,
        application_hint: 'tokenwarden',
        ...(stringOpt(args, 'aud') ? { audience: stringOpt(args, 'aud') } : {}),
        ...(stringOpt(args, 'scope') ? { scope: stringOpt(args, 'scope') } : {}),
        ...(boolOpt(args, 'force') ? { force_new_token: true } : {}),
      },
      timeout * 1000,
    );
    const token = String(reply.access_token);
    if (boolOpt(args, 'env')) {
      return {
        text: [
          `OIDC_AT=${token}; export OIDC_AT;`,
          `OIDC_ISS=${String(reply.issuer)}; export OIDC_ISS;`,
          `OIDC_EXP=${String(reply.expires_at)}; export OIDC_EXP;`,
        ].join('\n'),
      };
    }
    const { status: _status, ...rest } = reply;
    return { text: token, json: rest };
  },
};
