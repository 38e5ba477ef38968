import type { RefreshAccountConfig, TokenConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { onLocalDisk } from '../files/index.js';
import { credentialFileIdentity } from './health.js';
import { outcome, type TokenOutcome } from './outcome.js';
import {
  type AccountStatusFile,
  type CredentialVerdict,
  type CredentialVerdictKind,
  readAccountStatusFile,
  statusDirOf,
  type TokenStatus,
  updateAccountStatus,
} from './status.js';

/** Collects the status of each attempt and writes each account's file once, not once per token. */
export class StatusRecorder {
  readonly #pending = new Map<string, TokenStatus[]>();
  readonly #verdicts = new Map<string, CredentialVerdict[]>();
  readonly #previous = new Map<string, Promise<AccountStatusFile>>();
  #local: Promise<boolean> | undefined;
  constructor(
    readonly stateDir: string,
    readonly config: string,
    readonly clock: () => number,
  ) {}

  /** The account's status file as it was when this run first looked (read once per run). */
  previous(account: string): Promise<AccountStatusFile> {
    let file = this.#previous.get(account);
    if (file === undefined) {
      // One statfs of the status directory per recorder: on a local disk the files are read directly.
      this.#local ??= onLocalDisk(statusDirOf(this.stateDir));
      file = this.#local.then((local) => readAccountStatusFile(this.stateDir, account, local));
      this.#previous.set(account, file);
    }
    return file;
  }

  note(token: TokenConfig, fields: Partial<TokenStatus> & { state: TokenStatus['state'] }): void {
    const list = this.#pending.get(token.account) ?? [];
    list.push({
      token: token.name,
      account: token.account,
      path: token.tokenPath,
      config: this.config,
      lastAttempt: new Date(this.clock()).toISOString(),
      ...fields,
    });
    this.#pending.set(token.account, list);
  }

  verdict(
    account: RefreshAccountConfig,
    credentialIdentity: string,
    passwordIdentity: string,
    verdict: CredentialVerdictKind,
    error: TokenwardenError | undefined,
  ): void {
    const list = this.#verdicts.get(account.name) ?? [];
    list.push({
      credentialFile: account.credentialFile,
      credentialIdentity,
      passwordFile: account.passwordFile,
      passwordIdentity,
      verdict,
      ...(error
        ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
        : {}),
      at: new Date(this.clock()).toISOString(),
    });
    this.#verdicts.set(account.name, list);
  }

  hasPending(account: string): boolean {
    return this.#pending.has(account) || this.#verdicts.has(account);
  }

  drop(account: string): void {
    this.#pending.delete(account);
    this.#verdicts.delete(account);
  }

  async flush(account: string): Promise<void> {
    const updates = this.#pending.get(account) ?? [];
    const verdicts = this.#verdicts.get(account) ?? [];
    this.drop(account);
    try {
      await updateAccountStatus(this.stateDir, account, updates, verdicts);
    } catch {
      // Status is informational: failing to record it must not fail a renewal that worked.
    }
  }

  async flushAll(): Promise<void> {
    const accounts = new Set([...this.#pending.keys(), ...this.#verdicts.keys()]);
    await Promise.all([...accounts].map((a) => this.flush(a)));
  }
}

/** The outcome of a failed token, noted for its status file. */
export function fail(token: TokenConfig, error: TokenwardenError, status: StatusRecorder): TokenOutcome {
  const state = error.code === 'NEEDS_LOGIN' || error.code === 'CREDENTIAL_LOST' ? 'needs-login' : 'failing';
  status.note(token, { state, lastError: error.message, lastErrorCode: error.code });
  return outcome(token, 'failed', { error });
}

/** The outcome of a token not attempted because the run was asked to stop. */
export function stoppedOutcome(
  token: TokenConfig,
  stop: AbortSignal | undefined,
  status: StatusRecorder,
): TokenOutcome {
  const by = typeof stop?.reason === 'string' ? ` by ${stop.reason}` : '';
  const error = new TokenwardenError('RENEW_FAILED', `not renewed: the run was stopped${by}`);
  return { ...fail(token, error, status), stopped: true };
}

/** Records what opening the session said about the credential (decrypt failed, needs login). */
export async function noteVerdictOf(
  account: RefreshAccountConfig,
  error: TokenwardenError,
  passwordIdentity: string | undefined,
  status: StatusRecorder,
): Promise<void> {
  const kind: CredentialVerdictKind | undefined =
    error.code === 'STORE_DECRYPT_FAILED'
      ? 'decrypt-failed'
      : error.code === 'NEEDS_LOGIN'
        ? 'needs-login'
        : undefined;
  if (kind === undefined || passwordIdentity === undefined) return;
  const identity = await credentialFileIdentity(account.credentialFile);
  if (identity !== undefined) status.verdict(account, identity, passwordIdentity, kind, error);
}
