import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { formatHint, type Remedy } from '../remedy.js';
import { OSG_CONFIG_PATH } from './defaults.js';
import { findOidcAgentDir } from './oidc-agent-dir.js';

/** Remedy and formatRemedy live in the core beside the errors that carry them; re-exported here. */
export { formatRemedy, type Remedy } from '../remedy.js';

export interface LoginHintContext {
  /** The environment of the running user (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Their home directory (default: $HOME, else the password database's). */
  home?: string;
}

/** A hint as its words and the command it ends in, as TokenwardenError takes them. */
export interface RemedyHint {
  hint?: string | undefined;
  remedy: Remedy;
}

/**
 * What to run when a refresh-token account has no credential yet. Where the running user has an
 * oidc-agent account file of that name (what osg-token-renewer's setup made with `oidc-gen`), importing
 * it keeps the existing login: `migrate osg-token-renewer` for osg-token-renewer's own config (it does
 * every account, as root), else `import-oidc-agent`. Otherwise only a new login helps: `setup`. Here,
 * below the features, so that every feature that meets a missing credential can give it (renew does today).
 */
export function missingCredentialRemedy(
  account: string,
  configFile: string,
  ctx: LoginHintContext = {},
): RemedyHint {
  const env = ctx.env ?? process.env;
  const home = ctx.home ?? (env.HOME || homedir());
  const dir = findOidcAgentDir(env, home);
  if (dir !== undefined && isFile(join(dir, account))) {
    const importOne: Remedy = { command: 'import-oidc-agent', account, config: configFile };
    const hint = `oidc-agent has account ${account} (${join(dir, account)}): import it with`;
    return configFile === OSG_CONFIG_PATH
      ? { hint, remedy: { command: 'migrate osg-token-renewer', asRoot: true, alternative: importOne } }
      : { hint, remedy: importOne };
  }
  return { remedy: { command: 'setup', account, config: configFile } };
}

/** missingCredentialRemedy in words: `run: tokenwarden setup vo --config /c.ini`. */
export function missingCredentialHint(
  account: string,
  configFile: string,
  ctx: LoginHintContext = {},
): string {
  const { hint, remedy } = missingCredentialRemedy(account, configFile, ctx);
  return formatHint(hint, remedy) as string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
