import { configFailure, missingCredentialRemedy, type RefreshAccountConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import type { AccountRecord } from '../store/index.js';

/** STORE_NOT_FOUND: the account has no credential file yet. */
export function noCredentialYet(account: RefreshAccountConfig, configFile: string): TokenwardenError {
  return new TokenwardenError(
    'STORE_NOT_FOUND',
    `no credential for [account ${account.name}] yet`,
    missingCredentialRemedy(account.name, configFile),
  );
}

/** NEEDS_LOGIN: the record says the issuer refused its refresh token (`cause`, when known, says it). */
export function needsLoginError(
  account: RefreshAccountConfig,
  record: Pick<AccountRecord, 'needsLogin'>,
  configFile: string,
  cause?: TokenwardenError,
): TokenwardenError {
  if (cause !== undefined) return cause;
  const since = record.needsLogin;
  return new TokenwardenError(
    'NEEDS_LOGIN',
    `account ${account.name} needs a new login (since ${since?.since}: ${since?.reason})`,
    { remedy: { command: 'setup', account: account.name, config: configFile } },
  );
}

/** A failed load of the record; a wrong password names the files the admin must check. */
export function credentialError(
  account: RefreshAccountConfig,
  e: TokenwardenError,
  configFile: string,
): TokenwardenError {
  if (e.code !== 'STORE_DECRYPT_FAILED') return e;
  // Same fixed reason (it says nothing about what failed), but naming the files the admin must check.
  return configFailure(
    'STORE_DECRYPT_FAILED',
    configFile,
    account.line,
    `account ${account.name}`,
    `cannot decrypt credential_file ${account.credentialFile} with password_file ${account.passwordFile}: wrong password, or the file was altered`,
    {
      cause: e,
      hint: 'check password_file; if the credential was damaged, run',
      remedy: { command: 'setup', account: account.name, flags: ['--force'], config: configFile },
    },
  );
}

/** Any thrown value as a TokenwardenError (a foreign one is a bug: INTERNAL). */
export function asError(err: unknown): TokenwardenError {
  return err instanceof TokenwardenError
    ? err
    : new TokenwardenError('INTERNAL', err instanceof Error ? err.message : String(err));
}
