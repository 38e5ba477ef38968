import type { AccountConfig } from '../config/index.js';
import {
  type AccountLocks,
  asError,
  type ClientCache,
  mintToken,
  needsLoginError,
  openSession,
  type Session,
} from '../credentials/index.js';
import { TokenwardenError } from '../errors.js';
import { accountErrorContext, explainOAuthError } from '../oidc/explain.js';
import type { RequestContext } from '../oidc/index.js';
import { nowSeconds } from '../tokens/index.js';
import { inspectCandidate, unchangedSince } from './current.js';
import { credentialFileIdentity } from './health.js';
import type { RenewOptions } from './options.js';
import { outcome, type TokenOutcome } from './outcome.js';
import { type Candidate, minLifetimeWarning, timesOnDisk } from './plan.js';
import { fail, noteVerdictOf, type StatusRecorder, stoppedOutcome } from './status-recorder.js';
import { writeRenewedToken } from './write.js';

/** Errors that say the issuer cannot be reached at all: the account's other tokens fail at once. */
function isTransportFailure(err: TokenwardenError): boolean {
  return err.code === 'NETWORK' || err.code === 'TIMEOUT' || err.code === 'ISSUER_RESPONSE';
}

/**
 * Renews one account's due tokens, one at a time, under the account's cross-process lock
 * (docs/architecture.md invariant 2): opens a session (decrypts the record, builds the client), mints
 * each token and writes it. A failure that says the issuer cannot be reached, or that the account needs
 * a new login, fails the account's remaining tokens at once.
 */
export async function renewAccount(
  account: AccountConfig,
  due: Candidate[],
  options: RenewOptions,
  clock: () => number,
  status: StatusRecorder,
  clients: ClientCache,
  locks: AccountLocks,
): Promise<TokenOutcome[]> {
  const results: TokenOutcome[] = [];
  const sessionOptions = {
    store: options.store,
    clients,
    clientSecret: options.clientSecret,
    configFile: options.config.file,
  };
  if (options.stop?.aborted) return due.map((c) => stoppedOutcome(c.token, options.stop, status));
  // Each request has the account's timeout; all of them also end when the run's deadline fires. A stop
  // request does not end them: the refresh in flight is finished and saved.
  const ctx: RequestContext = {
    timeoutSeconds: account.timeoutSeconds,
    fetch: options.fetch,
    signal: options.signal,
  };
  const lockSignal = anySignal(options.signal, options.stop);
  try {
    await locks.withLock(
      account,
      async () => {
        const passwordIdentity = options.passwordIdentities?.get(account.name);
        let session: Session;
        try {
          session = await openSession(account, ctx, sessionOptions);
        } catch (err) {
          const e = asError(err);
          if (account.kind === 'refresh') await noteVerdictOf(account, e, passwordIdentity, status);
          throw e;
        }
        let fatal: TokenwardenError | undefined;
        for (const c of due) {
          if (fatal === undefined && options.stop?.aborted) {
            results.push(stoppedOutcome(c.token, options.stop, status));
            continue;
          }
          if (fatal === undefined && options.signal?.aborted) {
            fatal = new TokenwardenError(
              'TIMEOUT',
              'the run reached its deadline before this token was renewed',
            );
          }
          if (fatal !== undefined) {
            results.push(fail(c.token, fatal, status));
            continue;
          }
          try {
            results.push(await renewOne(c, session, options, clock, status));
          } catch (err) {
            const e = explainOAuthError(
              asError(err),
              accountErrorContext(session.account, session.record, c.token.scope, options.config.file),
            );
            if (isTransportFailure(e) || e.code === 'NEEDS_LOGIN' || e.code === 'CREDENTIAL_LOST') fatal = e;
            results.push(fail(c.token, e, status));
          }
        }
        if (account.kind === 'refresh') {
          // What the credential is now (this run may have rotated it, or marked it needs-login).
          // A rotated refresh token that could not be saved leaves a dead one on disk: that is needs-login
          // too, or a later run whose tokens are all fresh would pass as if all were well.
          const kind =
            fatal?.code === 'NEEDS_LOGIN' || fatal?.code === 'CREDENTIAL_LOST' ? 'needs-login' : 'ok';
          const identity = await credentialFileIdentity(account.credentialFile);
          if (identity !== undefined && passwordIdentity !== undefined && session.record !== undefined) {
            const error =
              kind === 'ok'
                ? undefined
                : needsLoginError(
                    account,
                    { needsLogin: { since: new Date(clock()).toISOString(), reason: fatal?.message ?? '' } },
                    options.config.file,
                    fatal,
                  );
            status.verdict(account, identity, passwordIdentity, kind, error);
          }
        }
        // Still under the lock: no other renew of this account writes its status file meanwhile.
        await status.flush(account.name);
      },
      { timeoutMs: 10 * 60_000, ...(lockSignal ? { signal: lockSignal } : {}) },
    );
  } catch (err) {
    const e = asError(err);
    const done = new Set(results.map((r) => r.token));
    const stopped = options.stop?.aborted === true && e.code === 'LOCK_TIMEOUT';
    for (const c of due) {
      if (done.has(c.token.name)) continue;
      results.push(stopped ? stoppedOutcome(c.token, options.stop, status) : fail(c.token, e, status));
    }
    await status.flush(account.name);
  }
  return results;
}

function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

async function renewOne(
  c: Candidate,
  session: Session,
  options: RenewOptions,
  clock: () => number,
  status: StatusRecorder,
): Promise<TokenOutcome> {
  const { token } = c;
  // Another process may have renewed it while we waited for the lock.
  const again = (await unchangedSince(c))
    ? c
    : await inspectCandidate(token, clock, options.force && c.reason === 'forced');
  if (again.reason === undefined) {
    status.note(token, { state: 'ok', expiresAt: again.currentExp });
    return outcome(token, 'fresh', timesOnDisk(again));
  }
  const response = await mintToken(session, token, {
    store: options.store,
    configFile: options.config.file,
    // The run's clock: refresh_expires_in is counted from it, as every other time of the run is.
    clock,
  });
  const { expiresAt: exp, claims } = await writeRenewedToken(
    c,
    again.currentExp,
    response,
    nowSeconds(clock),
  );
  const at = new Date(clock()).toISOString();
  status.note(token, { state: 'ok', lastRenewal: at, expiresAt: exp });
  const warning = minLifetimeWarning(token, claims);
  return outcome(token, 'renewed', {
    reason: c.reason,
    expiresAt: exp,
    ...(typeof claims.iat === 'number' ? { issuedAt: claims.iat } : {}),
    ...(session.refreshTokenNews === undefined ? {} : { refreshTokenNews: session.refreshTokenNews }),
    ...(warning ? { warning } : {}),
  });
}
