import { stat } from 'node:fs/promises';
import type { RefreshAccountConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { fileIdentity } from '../files/index.js';
import type { CredentialVerdict } from './status.js';

/**
 * The identity of a password file as it will be read: the file a symlink points at (the password is
 * read through links), so that editing the target changes it. undefined when it cannot be stat'ed.
 */
export async function passwordFileIdentity(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** The identity of a credential file (never followed through a link; see fileIdentity). */
export async function credentialFileIdentity(path: string): Promise<string | undefined> {
  return fileIdentity(path).catch(() => undefined);
}

/**
 * Does `cached` still describe the account's credential? Only when it was made from this very credential
 * file and password file, neither replaced nor written since (same identities).
 */
export function verdictHolds(
  cached: CredentialVerdict | undefined,
  account: RefreshAccountConfig,
  credentialIdentity: string,
  passwordIdentity: string | undefined,
): cached is CredentialVerdict {
  return (
    cached !== undefined &&
    passwordIdentity !== undefined &&
    cached.credentialFile === account.credentialFile &&
    cached.passwordFile === account.passwordFile &&
    cached.credentialIdentity === credentialIdentity &&
    cached.passwordIdentity === passwordIdentity
  );
}

/** The error a verdict stands for (undefined for 'ok'). */
export function verdictError(v: CredentialVerdict): TokenwardenError | undefined {
  if (v.verdict === 'ok') return undefined;
  const code = v.verdict === 'needs-login' ? 'NEEDS_LOGIN' : 'STORE_DECRYPT_FAILED';
  return new TokenwardenError(code, v.message ?? `account credential: ${v.verdict}`, {
    ...(v.hint ? { hint: v.hint } : {}),
  });
}
