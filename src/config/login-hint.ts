import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OSG_CONFIG_PATH } from './defaults.js';
import { findOidcAgentDir } from './oidc-agent-dir.js';

/**
 * A command that fixes a problem, as data: the core says what is to be run, for which account and
 * config, and one function (formatRemedy) words it, so no core module spells a command line itself.
 */
export interface Remedy {
  command: 'setup' | 'add' | 'import-oidc-agent' | 'migrate osg-token-renewer';
  account?: string | undefined;
  /** Options given before `--config`, e.g. `['--force']`. */
  flags?: readonly string[] | undefined;
  config?: string | undefined;
  /** The issuer to set the account up with (`--issuer URL`), given last. */
  issuer?: string | undefined;
}

/** The command line of a remedy: `tokenwarden setup vo --force --config /etc/x.ini`. */
export function formatRemedy(remedy: Remedy): string {
  return [
    'tokenwarden',
    remedy.command,
    ...(remedy.account === undefined ? [] : [remedy.account]),
    ...(remedy.flags ?? []),
    ...(remedy.config ? ['--config', remedy.config] : []),
    ...(remedy.issuer ? ['--issuer', remedy.issuer] : []),
  ].join(' ');
}

export interface LoginHintContext {
  /** The environment of the running user (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Their home directory (default: $HOME, else the password database's). */
  home?: string;
}

/**
 * What to run when a refresh-token account has no credential yet. Where the running user has an
 * oidc-agent account file of that name (what osg-token-renewer's setup made with `oidc-gen`), importing
 * it keeps the existing login: `migrate osg-token-renewer` for osg-token-renewer's own config (it does
 * every account, as root), else `import-oidc-agent`. Otherwise only a new login helps: `setup`. Here,
 * below the features, so that every feature that meets a missing credential can give it (renew does today).
 */
export function missingCredentialHint(
  account: string,
  configFile: string,
  ctx: LoginHintContext = {},
): string {
  const env = ctx.env ?? process.env;
  const home = ctx.home ?? (env.HOME || homedir());
  const dir = findOidcAgentDir(env, home);
  if (dir !== undefined && isFile(join(dir, account))) {
    const importOne = formatRemedy({ command: 'import-oidc-agent', account, config: configFile });
    return configFile === OSG_CONFIG_PATH
      ? `oidc-agent has account ${account} (${join(dir, account)}): import it with, as root: ${formatRemedy({ command: 'migrate osg-token-renewer' })} (or, as this user: ${importOne})`
      : `oidc-agent has account ${account} (${join(dir, account)}): import it with: ${importOne}`;
  }
  return `run: ${formatRemedy({ command: 'setup', account, config: configFile })}`;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
