import { join } from 'node:path';
import {
  checkOidcAgentAccountName,
  findOidcAgentAccountFile,
  type OidcAgentAccount,
  readOidcAgentAccount,
} from '../agent/oidc-agent/index.js';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import type { Secret } from '../secret.js';
import type { AccountRecord } from '../store/index.js';
import { createFileStore } from '../store/index.js';
import { locateAccount, PASSWORD_OPTIONS, readPassword } from './account-source.js';
import { boolOpt, type Command, stringOpt } from './command.js';
import { CONFIG_OPTION } from './shared.js';

export const command: Command = {
  name: 'import-oidc-agent',
  summary: 'Import an oidc-agent account (from oidc-gen) as a tokenwarden account.',
  usage:
    'import-oidc-agent ACCOUNT [--dir DIR] [--pw-file FILE | --pw-env VAR | --pw-cmd CMD] [--config PATH]',
  details: `Reads ACCOUNT from $OIDC_CONFIG_DIR, ~/.config/oidc-agent or ~/.oidc-agent (or --dir) and decrypts
it (Argon2id + XSalsa20-Poly1305) with its oidc-agent password: from --pw-file, --pw-env or --pw-cmd (as
oidc-add takes them), else the password_file of [account ACCOUNT] of the config (osg-token-renewer's setup
encrypts with it), else a prompt. It stores issuer, client and refresh token as a tokenwarden credential
encrypted with the account's password_file when the config has one, else with the same password. Load it
into the agent with \`tokenwarden add ACCOUNT\`, or let \`renew\` use it. An existing tokenwarden
credential of that name is kept unless --force. For a whole osg-token-renewer site, run
\`tokenwarden migrate osg-token-renewer\` instead. After the import, use the account from tokenwarden only: with refresh
token rotation, whichever of oidc-agent and tokenwarden refreshes second uses a spent token, and the
issuer revokes the grant.`,
  allowPositionals: true,
  options: {
    dir: { type: 'string', valueName: 'DIR', description: "oidc-agent's configuration directory" },
    force: { type: 'boolean', description: 'replace an existing tokenwarden credential of that name' },
    ...PASSWORD_OPTIONS,
    ...CONFIG_OPTION,
  },
  async run(args, io) {
    const name = args.positionals[0];
    if (!name || args.positionals.length > 1)
      throw new TokenwardenError('USAGE', 'import-oidc-agent needs one ACCOUNT');
    checkOidcAgentAccountName(name);
    const dir = stringOpt(args, 'dir');
    const file = dir ? join(dir, name) : findOidcAgentAccountFile(name, io.env, io.home);
    if (file === undefined || (await readFileIfExists(file, { maxBytes: 1 << 20 })) === undefined) {
      throw new TokenwardenError('STORE_NOT_FOUND', `no oidc-agent account ${name} found`, {
        hint: 'give its directory with --dir (oidc-agent keeps them in ~/.config/oidc-agent)',
      });
    }
    const where = await locateAccount(args, io, name);
    if (
      !boolOpt(args, 'force') &&
      (await readFileIfExists(where.credentialFile, { maxBytes: 1 << 20 })) !== undefined
    ) {
      // Its refresh token may have rotated since oidc-gen wrote the file: replacing it with the older one
      // would make the issuer's reuse detection revoke the whole grant at the next refresh.
      throw new TokenwardenError(
        'USAGE',
        `tokenwarden account ${name} exists already (${where.credentialFile})`,
        {
          hint: 'to replace it with the oidc-agent account anyway, add --force',
        },
      );
    }
    // osg-token-renewer's setup encrypts the oidc-agent file with the [account]'s password_file: that is
    // the default password here too, before a prompt.
    const password = await readPassword(args, io, name, where.passwordFile);
    const account = await readOidcAgentAccount(file, password);
    // The credential is encrypted with what renew will use: the account's password file when there is one.
    const optionGiven = ['pw-file', 'pw-env', 'pw-cmd'].some((o) => stringOpt(args, o) !== undefined);
    const storePassword =
      where.passwordFile && optionGiven && stringOpt(args, 'pw-file') !== where.passwordFile
        ? await readPassword({ values: {}, positionals: [] }, io, name, where.passwordFile)
        : password;
    const record = await saveOidcAgentAccount({
      name,
      account,
      credentialFile: where.credentialFile,
      lockFile: where.lockFile,
      password: storePassword,
    });
    return {
      text: `imported oidc-agent account ${name} (issuer ${record.issuer}) into ${where.credentialFile}\nload it with: tokenwarden add ${name}`,
      json: { account: name, issuer: record.issuer, credential_file: where.credentialFile },
    };
  },
};

/**
 * Stores a decrypted oidc-agent account as a tokenwarden credential record (issuer, client, refresh
 * token, scope), encrypted with `password`, under the account's lock. Refuses an account without a
 * refresh token (NEEDS_LOGIN). Shared by import-oidc-agent and migrate.
 */
export async function saveOidcAgentAccount(options: {
  name: string;
  account: OidcAgentAccount;
  credentialFile: string;
  lockFile: string;
  password: Secret;
}): Promise<AccountRecord> {
  const { name, account } = options;
  if (!account.refreshToken) {
    throw new TokenwardenError('NEEDS_LOGIN', `oidc-agent account ${name} holds no refresh token`, {
      hint: `log in again: tokenwarden setup ${name}`,
    });
  }
  const store = createFileStore({
    credentialFile: () => options.credentialFile,
    lockFile: () => options.lockFile,
    password: async () => options.password,
  });
  const now = new Date().toISOString();
  const record: AccountRecord = {
    version: 1,
    account: name,
    issuer: account.issuer,
    clientId: account.clientId,
    ...(account.clientSecret ? { clientSecret: account.clientSecret } : {}),
    tokenEndpointAuthMethod: account.clientSecret ? 'client_secret_basic' : 'none',
    refreshToken: account.refreshToken,
    scope: account.scope,
    audienceParam: 'audience',
    createdAt: now,
    updatedAt: now,
  };
  try {
    await store.withLock(name, () => store.save(record));
  } finally {
    await store.close();
  }
  return record;
}
