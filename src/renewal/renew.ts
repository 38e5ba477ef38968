import type { TokenConfig } from '../config/index.js';
// By their own modules, not the credentials index: that loads the refresh, minting and session code
// (and the OIDC client behind it), which only due work needs (loaded below when there is some).
import { asError } from '../credentials/account-errors.js';
import type { ClientCache } from '../credentials/index.js';
import { createAccountLocks } from '../credentials/locks.js';
import { TokenwardenError } from '../errors.js';
import { checkAccount } from './check-account.js';
import { type DirVerdict, inspectCandidate } from './current.js';
import { mapLimit } from './map-limit.js';
import type { RenewOptions } from './options.js';
import {
  type AccountProblem,
  brokenOutcome,
  outcome,
  type RenewResult,
  type TokenOutcome,
} from './outcome.js';
import { planAccounts, splitPlan, timesOnDisk } from './plan.js';
import { isEntryOf } from './status.js';
import { fail, StatusRecorder } from './status-recorder.js';

export { mapLimit } from './map-limit.js';
export type { RenewOptions } from './options.js';
export type { AccountProblem, RenewResult, TokenOutcome, TokenResult } from './outcome.js';
export { minLifetimeWarning } from './plan.js';

/**
 * The renew orchestrator shared by `renew` and `daemon`: decides from the files alone which tokens are
 * due (no network, no decryption when everything is fresh; plan.ts), then works per account, accounts in
 * parallel, each account's tokens one at a time under the account's cross-process lock
 * (renew-account.ts), re-checking each file after taking the lock because another process may have
 * renewed it meanwhile. What each attempt leaves in the status files goes through one StatusRecorder.
 *
 * Tokens that config.ini breaks fail first, before any network call; the others go on. An account whose
 * tokens are all fresh is still checked (check-account.ts), so that one that cannot renew is reported
 * while its tokens are still valid. Callable any number of times in one process, on any subset of the
 * tokens (`only`).
 */
export async function renewTokens(options: RenewOptions): Promise<RenewResult> {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const wanted = (name: string) => !options.only?.length || options.only.includes(name);
  const outcomes: TokenOutcome[] = [];
  const accountProblems: AccountProblem[] = [];
  const status = new StatusRecorder(config.stateDir, config.file, clock);
  // One refresh per credential at a time, across processes, whatever the kind of account.
  const locks = createAccountLocks({ store: options.store, stateDir: config.stateDir });
  let clients: ClientCache | undefined;
  const record = (o: TokenOutcome) => {
    outcomes.push(o);
    options.onOutcome?.(o);
  };
  for (const b of config.brokenTokens) if (wanted(b.name)) record(brokenOutcome(b));
  const usable: TokenConfig[] = [];
  for (const t of config.tokens.filter((t) => wanted(t.name))) {
    const unusable = options.unusable?.get(t.account);
    if (unusable !== undefined) record(fail(t, unusable, status));
    else usable.push(t);
  }
  const safeDirs = new Map<string, Promise<DirVerdict>>();
  const candidates = await mapLimit(usable, 64, (token) =>
    inspectCandidate(token, clock, options.force, safeDirs),
  );
  const { fresh, due } = splitPlan(candidates);
  // One read of each account's status file, all at once: clearing old failures and reusing the verdict
  // of the last decryption both need it.
  const freshAccounts = [...new Set(fresh.map((c) => c.token.account))];
  await Promise.all(freshAccounts.map((a) => status.previous(a)));
  for (const c of candidates) {
    if (c.reason !== undefined) continue;
    record(outcome(c.token, 'fresh', timesOnDisk(c)));
    // A failure on record that this run finds gone (another process renewed it, or the fault was
    // transient) is cleared.
    const previous = (await status.previous(c.token.account)).tokens[c.token.name];
    if (previous !== undefined && (previous.state !== 'ok' || !isEntryOf(previous, config.file))) {
      status.note(c.token, { state: 'ok', expiresAt: c.currentExp });
    }
  }
  // What only due work needs is loaded when there is some: a run with everything fresh (a timer's
  // usual run) does without the preflight, the renewal and the credential code.
  const dueWork = due.length === 0 ? undefined : await loadDueWork();
  // Before any network call: a token that could not be written must not spend a refresh grant.
  // Owner and group names are resolved once per run (getent may ask LDAP), not once per token.
  const idCache = new Map<string, Promise<number>>();
  const checked = await mapLimit(due, 64, async (c) => {
    if (dueWork === undefined) throw new TokenwardenError('INTERNAL', 'due work without its modules');
    const { preflight } = dueWork;
    try {
      c.ids = await preflight(config, c.token, idCache);
      return c;
    } catch (err) {
      record(fail(c.token, asError(err), status));
      return undefined;
    }
  });
  const work = planAccounts(
    checked.filter((c) => c !== undefined),
    freshAccounts,
  );
  await mapLimit(work, options.concurrency ?? 16, async ([accountName, due]) => {
    const account = config.accounts.get(accountName);
    if (account === undefined) throw new TokenwardenError('INTERNAL', `account ${accountName} vanished`);
    if (due.length === 0) {
      const problem = await checkAccount(account, options, status, locks);
      if (problem !== undefined) accountProblems.push(problem);
      return;
    }
    if (dueWork === undefined) throw new TokenwardenError('INTERNAL', 'due work without its modules');
    // Discovery once per issuer: for this run, or for as long as the caller keeps its cache.
    clients ??= options.clients ?? new dueWork.ClientCache();
    for (const o of await dueWork.renewAccount(account, due, options, clock, status, clients, locks)) {
      record(o);
    }
  });
  // Accounts whose every due token failed the preflight have not been written yet.
  await status.flushAll();
  const order = new Map([...config.tokens, ...config.brokenTokens].map((t) => [t.name, t.line] as const));
  outcomes.sort((a, b) => (order.get(a.token) ?? 0) - (order.get(b.token) ?? 0));
  accountProblems.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  return { outcomes, accounts: accountProblems };
}

/** The modules that renewing a due token needs, loaded together on the first run that has one. */
async function loadDueWork() {
  const [{ preflight }, { renewAccount }, { ClientCache }] = await Promise.all([
    import('./preflight.js'),
    import('./renew-account.js'),
    import('../credentials/client-cache.js'),
  ]);
  return { preflight, renewAccount, ClientCache };
}
