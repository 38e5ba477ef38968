import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import { locateAccount, PASSWORD_OPTIONS, readPassword } from './account-source.js';
import { askAgent } from './agent-client.js';
import { type Command, LIFETIME_MAX, secondsOpt } from './command.js';
import { CONFIG_OPTION } from './shared.js';

export const command: Command = {
  name: 'add',
  summary: 'Load an account into the agent (decrypted in memory).',
  usage: 'add ACCOUNT [--pw-file FILE | --pw-env VAR | --pw-cmd CMD] [--lifetime SECS] [--config PATH]',
  details: `The credential is the one \`tokenwarden setup\` (or import-oidc-agent) stored: the account's
credential_file when --config names it, else STATE_DIR/accounts/ACCOUNT.cred. Without a password option the
account's password file is used when there is one, else the password is asked for (no echo). Only
refresh-token accounts can be added: a client-credentials account needs no agent (renew gets its tokens).`,
  allowPositionals: true,
  options: {
    ...PASSWORD_OPTIONS,
    lifetime: { type: 'string', valueName: 'SECS', description: 'unload the account after SECS' },
    ...CONFIG_OPTION,
  },
  async run(args, io) {
    const name = args.positionals[0];
    if (!name || args.positionals.length > 1) throw new TokenwardenError('USAGE', 'add needs one ACCOUNT');
    // The command line is checked before any file is read or a password asked for.
    const lifetime = secondsOpt(args, 'lifetime', 0, { allowZero: true, max: LIFETIME_MAX });
    const where = await locateAccount(args, io, name);
    // Said before any password is asked for: no password makes these accounts loadable.
    const config = where.configFile ? ` --config ${where.configFile}` : '';
    if (where.kind === 'client_credentials') {
      throw new TokenwardenError(
        'USAGE',
        `[account ${name}] of ${where.configFile} is a client-credentials account: the agent holds refresh-token accounts only`,
        { hint: `its tokens come from: tokenwarden renew${config}` },
      );
    }
    if ((await readFileIfExists(where.credentialFile)) === undefined) {
      const section =
        where.kind === undefined
          ? `no [account ${name}] in ${where.configFile ?? 'any config (none found)'}, and no credential at`
          : 'no credential at';
      throw new TokenwardenError(
        'STORE_NOT_FOUND',
        `no account ${name}: ${section} ${where.credentialFile}`,
        {
          hint: `create it with: tokenwarden setup ${name}${config}${where.kind === undefined ? ' --issuer URL' : ''}`,
        },
      );
    }
    const password = await readPassword(args, io, name, where.passwordFile);
    const reply = await askAgent(io, {
      request: 'tw_add',
      account: name,
      password: password.reveal(),
      credential_file: where.credentialFile,
      lock_file: where.lockFile,
      ...(where.configFile ? { config: where.configFile } : {}),
      lifetime,
    });
    return { text: `account ${name} loaded (issuer ${String(reply.issuer)})`, json: reply };
  },
};
