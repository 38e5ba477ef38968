import { join } from 'node:path';
import {
  type AccountConfig,
  type ConfigWarning,
  loadRenewerConfig,
  type RenewerConfig,
  readClientSecretFile,
  readPasswordFile,
} from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import type { Secret } from '../secret.js';
import { type CredentialStore, createFileStore } from '../store/index.js';
import type { CliIO, OptionSpec, ParsedArgs } from './command.js';
import { printWarnings, stringOpt } from './command.js';

export const CONFIG_OPTION: Record<string, OptionSpec> = {
  config: {
    type: 'string',
    short: 'c',
    valueName: 'PATH',
    description:
      'config.ini (default: $OSG_TOKEN_RENEWER_CONFIG_PATH, $TOKENWARDEN_CONFIG, /etc/tokenwarden/config.ini)',
  },
};

export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print JSON instead of text' },
};

export function lockFile(stateDir: string, account: string): string {
  return join(stateDir, 'locks', `${account}.lock`);
}

export async function loadConfig(args: ParsedArgs, io: CliIO): Promise<RenewerConfig> {
  const { findConfigPath } = await import('../config/index.js');
  const path = findConfigPath({ cliPath: stringOpt(args, 'config'), env: io.env });
  const warnings: ConfigWarning[] = [];
  const config = await loadRenewerConfig({ path, env: io.env, uid: io.uid, home: io.home, warnings });
  printWarnings(io, warnings);
  return config;
}

/**
 * The credential store of a config: one encrypted file per refresh-token account. `passwords` are the
 * ones checkAccountFiles already read; any other is read from the account's password file on demand.
 */
export function storeForConfig(
  config: RenewerConfig,
  passwords = new Map<string, Secret>(),
): CredentialStore {
  return createFileStore({
    credentialFile: (name) => refreshAccount(config, name).credentialFile,
    lockFile: (name) => lockFile(config.stateDir, name),
    password: async (name) => {
      const known = passwords.get(name);
      if (known) return known;
      const account = refreshAccount(config, name);
      return readPasswordFile(account.passwordFile, `Config for [account ${name}]`);
    },
  });
}

function refreshAccount(config: RenewerConfig, name: string): AccountConfig & { kind: 'refresh' } {
  const account = config.accounts.get(name);
  if (account?.kind === 'refresh') return account;
  // Client-credentials accounts only use the store's lock, never its files.
  return {
    kind: 'refresh',
    name,
    line: 0,
    audienceParam: 'audience',
    timeoutSeconds: 30,
    passwordFile: '/nonexistent',
    credentialFile: join(config.stateDir, 'accounts', `${name}.cred`),
  };
}

export async function clientSecretOf(
  account: AccountConfig & { kind: 'client_credentials' },
): Promise<Secret> {
  if (account.clientSecret) return account.clientSecret;
  if (account.clientSecretFile) {
    return readClientSecretFile(account.clientSecretFile, `Config for [account ${account.name}]`);
  }
  throw new TokenwardenError('CONFIG_INVALID', `Config for [account ${account.name}]: no client_secret`);
}
