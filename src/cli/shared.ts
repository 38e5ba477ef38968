import { join } from 'node:path';
import {
  type AccountConfig,
  type ConfigWarning,
  loadRenewerConfig,
  parseIni,
  type RenewerConfig,
  readClientSecretFile,
  readPasswordFile,
  resolveRenewerConfig,
} from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { lockFileBeside, readFileIfExists } from '../files/index.js';
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
      'config.ini (default: $OSG_TOKEN_RENEWER_CONFIG_PATH, $TOKENWARDEN_CONFIG, /etc/tokenwarden/config.ini, else /etc/osg/token-renewer/config.ini)',
  },
};

export const JSON_OPTION: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print JSON instead of text' },
};

/**
 * The lock of an account with no credential file (client credentials): in the state directory. A
 * refresh-token account's lock follows its credential file instead (see accountLockFile).
 */
export function lockFile(stateDir: string, account: string): string {
  return join(stateDir, 'locks', `${account}.lock`);
}

/**
 * Where the account's refresh lock is: beside the real path of its credential file for a refresh-token
 * account, so that two configs (with different state directories) sharing one credential_file serialize;
 * in the state directory for a client-credentials account.
 */
export function accountLockFile(config: RenewerConfig, account: string): string {
  const found = config.accounts.get(account);
  return found?.kind === 'refresh'
    ? lockFileBeside(found.credentialFile)
    : lockFile(config.stateDir, account);
}

/**
 * The config named by --config (or the defaults). With `collect`, a semantic error in one section is
 * recorded in `problems` and breaks only what depends on it (renew, status); without, it is thrown.
 */
export async function loadConfig(
  args: ParsedArgs,
  io: CliIO,
  options: { collect?: boolean } = {},
): Promise<RenewerConfig> {
  const { findConfigPath } = await import('../config/index.js');
  const path = findConfigPath({ cliPath: stringOpt(args, 'config'), env: io.env });
  const warnings: ConfigWarning[] = [];
  const config = await loadRenewerConfig({
    path,
    env: io.env,
    uid: io.uid,
    home: io.home,
    collect: options.collect === true,
    warnings,
  });
  printWarnings(io, warnings);
  return config;
}

/**
 * loadConfig for commands that may start without any config file (setup, add, import-oidc-agent): when
 * none exists at the chosen path, the config of that path with nothing in it (defaults only).
 */
export async function loadConfigIfExists(
  args: ParsedArgs,
  io: CliIO,
  options: { collect?: boolean } = {},
): Promise<{ config: RenewerConfig; exists: boolean }> {
  const { findConfigPath } = await import('../config/index.js');
  const path = findConfigPath({ cliPath: stringOpt(args, 'config'), env: io.env });
  if ((await readFileIfExists(path)) === undefined) {
    const ctx = { file: path, env: io.env, uid: io.uid, home: io.home };
    return { config: resolveRenewerConfig(parseIni('', path), ctx), exists: false };
  }
  return { config: await loadConfig(args, io, options), exists: true };
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
    lockFile: (name) => accountLockFile(config, name),
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
