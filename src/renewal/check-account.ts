import type { AccountConfig, RefreshAccountConfig } from '../config/index.js';
import { asError, credentialError, needsLoginError, noCredentialYet } from '../credentials/account-errors.js';
import type { AccountLocks } from '../credentials/index.js';
import type { TokenwardenError } from '../errors.js';
import { credentialFileIdentity, verdictError, verdictHolds } from './health.js';
import type { RenewOptions } from './options.js';
import type { AccountProblem } from './outcome.js';
import type { CredentialVerdictKind } from './status.js';
import type { StatusRecorder } from './status-recorder.js';

/**
 * An account none of whose tokens is due: can it still renew? A missing credential is one stat. Whether
 * the credential decrypts, and whether it is marked needs-login, is remembered from the last decryption
 * (the account's status file) together with the identities of the credential file and of the password
 * file; while both are unchanged, the verdict is reused and no key is derived. Otherwise the record is
 * decrypted once (one KDF run) and the new verdict recorded. No request reaches the issuer.
 */
export async function checkAccount(
  account: AccountConfig,
  options: RenewOptions,
  status: StatusRecorder,
  locks: AccountLocks,
): Promise<AccountProblem | undefined> {
  let problem: AccountProblem | undefined;
  if (account.kind === 'refresh' && !options.stop?.aborted) {
    problem = await checkCredential(account, options, status);
  }
  // What this run learnt (failures cleared, a new verdict) is written under the lock, as renew writes;
  // when another process holds it, that process is writing the same news.
  if (status.hasPending(account.name)) {
    await locks
      .withLock(account, () => status.flush(account.name), { timeoutMs: 2_000 })
      .catch(() => status.drop(account.name));
  }
  return problem;
}

async function checkCredential(
  account: RefreshAccountConfig,
  options: RenewOptions,
  status: StatusRecorder,
): Promise<AccountProblem | undefined> {
  const credentialIdentity = await credentialFileIdentity(account.credentialFile);
  if (credentialIdentity === undefined) {
    return { account: account.name, error: noCredentialYet(account, options.config.file) };
  }
  const passwordIdentity = options.passwordIdentities?.get(account.name);
  if (passwordIdentity === undefined) return undefined;
  const cached = (await status.previous(account.name)).credentials?.[account.credentialFile];
  if (verdictHolds(cached, account, credentialIdentity, passwordIdentity)) {
    const error = verdictError(cached);
    return error === undefined ? undefined : { account: account.name, error };
  }
  let error: TokenwardenError | undefined;
  let verdict: CredentialVerdictKind = 'ok';
  try {
    const record = await options.store.load(account.name);
    if (record === undefined)
      return { account: account.name, error: noCredentialYet(account, options.config.file) };
    if (record.needsLogin) {
      verdict = 'needs-login';
      error = needsLoginError(account, record, options.config.file);
    }
  } catch (err) {
    error = credentialError(account, asError(err), options.config.file);
    if (error.code !== 'STORE_DECRYPT_FAILED') return { account: account.name, error };
    verdict = 'decrypt-failed';
  }
  status.verdict(account, credentialIdentity, passwordIdentity, verdict, error);
  return error === undefined ? undefined : { account: account.name, error };
}
