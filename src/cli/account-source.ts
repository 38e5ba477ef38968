import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ConfigWarning } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { lockFileBeside, readFileIfExists } from '../files/index.js';
import { Secret } from '../secret.js';
import { type CliIO, type OptionSpec, type ParsedArgs, printWarnings, stringOpt } from './command.js';
import { promptSecret } from './prompt.js';
import { loadConfigIfExists } from './shared.js';

export const PASSWORD_OPTIONS: Record<string, OptionSpec> = {
  'pw-file': {
    type: 'string',
    valueName: 'FILE',
    description: 'read the password from the first line of FILE',
  },
  'pw-env': {
    type: 'string',
    valueName: 'VAR',
    description: 'read the password from environment variable VAR',
  },
  'pw-cmd': {
    type: 'string',
    valueName: 'CMD',
    description: 'run CMD (sh -c) and use the first line it prints',
  },
};

/** Where an account's credential, lock and default password file are, from --config or the state dir. */
export async function locateAccount(
  args: ParsedArgs,
  io: CliIO,
  name: string,
): Promise<{
  credentialFile: string;
  lockFile: string;
  passwordFile: string | undefined;
  /** The config file read (undefined: none exists), and the kind of its [account NAME] if any. */
  configFile: string | undefined;
  kind: 'refresh' | 'client_credentials' | undefined;
}> {
  const { accountOrError } = await import('../config/index.js');
  // A broken section elsewhere does not stop this account; its own broken section does, with its error.
  const { config, exists } = await loadConfigIfExists(args, io, { collect: true });
  const account = accountOrError(config, name);
  const configFile = exists ? config.file : undefined;
  if (account?.kind === 'refresh') {
    return {
      credentialFile: account.credentialFile,
      lockFile: lockFileBeside(account.credentialFile),
      passwordFile: account.passwordFile,
      configFile,
      kind: 'refresh',
    };
  }
  const fallback = join(config.stateDir, `${name}.pw`);
  const credentialFile = join(config.stateDir, 'accounts', `${name}.cred`);
  return {
    credentialFile,
    lockFile: lockFileBeside(credentialFile),
    passwordFile: (await readFileIfExists(fallback)) === undefined ? undefined : fallback,
    configFile,
    kind: account?.kind,
  };
}

/** The account password from --pw-file, --pw-env, --pw-cmd, a default password file, or a prompt. */
export async function readPassword(
  args: ParsedArgs,
  io: CliIO,
  name: string,
  defaultFile?: string,
): Promise<Secret> {
  const file =
    stringOpt(args, 'pw-file') ??
    (stringOpt(args, 'pw-env') || stringOpt(args, 'pw-cmd') ? undefined : defaultFile);
  if (file !== undefined) {
    // The one reader of secret files: size, type, mode and planted-path checks, as renew reads them.
    const { readPasswordFile } = await import('../config/index.js');
    const warnings: ConfigWarning[] = [];
    const context = stringOpt(args, 'pw-file') !== undefined ? '--pw-file' : `[account ${name}]`;
    const password = await readPasswordFile(file, context, warnings);
    printWarnings(io, warnings);
    return password;
  }
  const variable = stringOpt(args, 'pw-env');
  if (variable !== undefined) {
    const value = io.env[variable];
    if (!value) throw new TokenwardenError('USAGE', `--pw-env: $${variable} is not set`);
    return new Secret(value);
  }
  const cmd = stringOpt(args, 'pw-cmd');
  if (cmd !== undefined) {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('/bin/sh', ['-c', cmd], { timeout: 30_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
        if (err)
          reject(
            new TokenwardenError(
              'USAGE',
              `--pw-cmd failed (exit ${String((err as { code?: unknown }).code)})`,
            ),
          );
        else resolve(stdout);
      });
    });
    const line = out.split('\n')[0];
    if (!line) throw new TokenwardenError('USAGE', '--pw-cmd printed nothing');
    return new Secret(line);
  }
  return promptSecret(io, `password for account ${name}: `);
}
