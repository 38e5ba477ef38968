import type { TokenConfig } from '../config/index.js';
import { asError, ClientCache, createAccountLocks } from '../credentials/index.js';
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
import { preflight } from './preflight.js';
import { renewAccount } from './renew-account.js';
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
  // Discovery once per issuer: for this run, or for as long as the caller keeps its cache.
  const clients = options.clients ?? new ClientCache();
  // One refresh per credential at a time, across processes, whatever the kind of account.
  const locks = createAccountLocks({ store: options.store, stateDir: config.stateDir });
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
  // Before any network call: a token that could not be written must not spend a refresh grant.
  // Owner and group names are resolved once per run (getent may ask LDAP), not once per token.
  const idCache = new Map<string, Promise<number>>();
  const checked = await mapLimit(due, 64, async (c) => {
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
    for (const o of await renewAccount(account, due, options, clock, status, clients, locks)) record(o);
  });
  // Accounts whose every due token failed the preflight have not been written yet.
  await status.flushAll();
  const order = new Map([...config.tokens, ...config.brokenTokens].map((t) => [t.name, t.line] as const));
  outcomes.sort((a, b) => (order.get(a.token) ?? 0) - (order.get(b.token) ?? 0));
  accountProblems.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  return { outcomes, accounts: accountProblems };
}
