import { statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * oidc-agent's configuration directory, where `oidc-gen` writes account files: the FIRST of
 * `$OIDC_CONFIG_DIR`, `~/.config/oidc-agent`, `~/.oidc-agent` that exists as a directory (oidc-agent's
 * `getOidcDir()`; later locations are not searched). Undefined when none exists. Kept here, below the
 * features, because renew's hints need it as much as the import of such files does.
 */
export function findOidcAgentDir(env: Record<string, string | undefined>, home: string): string | undefined {
  return oidcAgentDirCandidates(env, home).find(isDirectory);
}

/** The places findOidcAgentDir looks, for messages that say where nothing was found. */
export function oidcAgentDirCandidates(env: Record<string, string | undefined>, home: string): string[] {
  return [env.OIDC_CONFIG_DIR, join(home, '.config', 'oidc-agent'), join(home, '.oidc-agent')].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
