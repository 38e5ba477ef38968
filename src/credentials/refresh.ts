import { OAuthError, type Remedy, TokenwardenError } from '../errors.js';
import type { OAuthClient, RequestContext, TokenRequest, TokenResponse } from '../oidc/index.js';
import type { AccountRecord, CredentialStore, SaveReservation } from '../store/index.js';
import { loadOidc } from './load-oidc.js';
import { type RefreshTokenNews, refreshTokenExpiry } from './refresh-expiry.js';

/**
 * How a save of a rotated refresh token is retried when it fails (ENOSPC, EIO…): these delays, then it
 * is given up as lost. About 30 s in all: long enough for a log rotation or a cleaner to free space,
 * short enough for a systemd TimeoutStartSec.
 */
export const SAVE_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000, 15000];

export interface RefreshArgs {
  store: CredentialStore;
  record: AccountRecord;
  client: OAuthClient;
  request: TokenRequest;
  ctx: RequestContext;
  /** The command that gives the account a new login (`setup NAME ...`), carried by the errors that need it. */
  login: Remedy;
  clock?: () => number;
  /** Waits between save retries (default: a timer); tests inject one that frees space. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RefreshResult {
  response: TokenResponse;
  /** The record as it is now stored: the rotated one, or the one given when the token was kept. */
  record: AccountRecord;
  /**
   * What the grant says of the refresh token the account now holds (its expiry, see refresh-expiry.ts):
   * kept in memory by whoever warns of it, never stored (the record format is oidc-agent's too).
   */
  refreshTokenNews: RefreshTokenNews;
}

/**
 * One refresh grant for an account whose lock the caller holds. A rotated refresh token is durably stored
 * before the new access token is returned or used (docs/architecture.md invariant 1); the one it
 * replaces is kept as `previousRefreshToken`. `invalid_grant` marks the account `needsLogin` (so headless
 * runs stop using a dead token) and becomes a NEEDS_LOGIN error saying what to run.
 */
export async function refreshWithRotation(args: RefreshArgs): Promise<RefreshResult> {
  const { record, store } = args;
  const now = () => new Date((args.clock ?? Date.now)()).toISOString();
  if (record.needsLogin) {
    throw new TokenwardenError(
      'NEEDS_LOGIN',
      `account ${record.account} needs a new login (since ${record.needsLogin.since}: ${record.needsLogin.reason})`,
      { remedy: args.login },
    );
  }
  if (record.refreshToken === undefined) {
    throw new TokenwardenError('NEEDS_LOGIN', `account ${record.account} holds no refresh token`, {
      remedy: args.login,
    });
  }
  // Room for the rotated record before the grant: if it cannot be had, no grant is spent.
  let room: SaveReservation | undefined;
  try {
    room = await store.reserveSave?.(record.account);
  } catch (err) {
    if (!(err instanceof TokenwardenError)) throw err;
    throw new TokenwardenError(
      err.code,
      `account ${record.account}: not refreshed, the new credential could not be saved: ${err.message}`,
      { cause: err, hint: `${err.hint ?? 'free space or fix the permissions'}; no refresh grant was spent` },
    );
  }
  try {
    let response: TokenResponse;
    try {
      const { refreshTokenGrant } = await loadOidc();
      response = await refreshTokenGrant(args.client, record.refreshToken, args.request, args.ctx);
    } catch (err) {
      if (err instanceof OAuthError && err.error === 'invalid_grant') {
        // Mark only the record whose refresh token was refused: a new setup may have replaced it meanwhile.
        const current = await store.load(record.account);
        if (current?.refreshToken === undefined || !current.refreshToken.equals(record.refreshToken)) {
          throw new TokenwardenError(
            'RENEW_FAILED',
            `account ${record.account}: its credential was replaced while it was being refreshed; try again`,
          );
        }
        const marked = { ...current, needsLogin: { since: now(), reason: err.message }, updatedAt: now() };
        const slot = room;
        room = undefined;
        await (slot ? slot.save(marked) : store.save(marked));
        throw new TokenwardenError('NEEDS_LOGIN', `account ${record.account}: ${err.message}`, {
          hint: 'the refresh token is no longer valid; run',
          remedy: args.login,
        });
      }
      throw err;
    }
    // The response's refresh_expires_in, counted from now, is of the token the account holds after it.
    const answeredAt = (args.clock ?? Date.now)() / 1000;
    const expiryOf = (token: string) =>
      refreshTokenExpiry(response.extra.refresh_expires_in, token, answeredAt);
    if (response.refreshToken === undefined || response.refreshToken.equals(record.refreshToken)) {
      return {
        response,
        record,
        refreshTokenNews: { ...expiryOf(record.refreshToken.reveal()), rotated: false },
      };
    }
    const rotated: AccountRecord = {
      ...record,
      previousRefreshToken: record.refreshToken,
      refreshToken: response.refreshToken,
      updatedAt: now(),
    };
    const slot = room;
    room = undefined;
    await saveRotated(args, rotated, slot);
    return {
      response,
      record: rotated,
      refreshTokenNews: { ...expiryOf(response.refreshToken.reveal()), rotated: true },
    };
  } finally {
    await room?.release().catch(() => undefined);
  }
}

/**
 * Stores the rotated record: into the reserved room first, then, if that fails anyway, by fresh saves
 * with backoff (SAVE_RETRY_DELAYS_MS), the new refresh token held in memory meanwhile. Returns only
 * once it is durable; throws CREDENTIAL_LOST, saying what happened and what to run, when every attempt
 * failed: the issuer has rotated the token, so the one still on disk will be refused.
 */
async function saveRotated(
  args: RefreshArgs,
  rotated: AccountRecord,
  slot: SaveReservation | undefined,
): Promise<void> {
  const sleep = args.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: unknown;
  try {
    await (slot ? slot.save(rotated) : args.store.save(rotated));
    return;
  } catch (err) {
    last = err;
  }
  for (const delay of SAVE_RETRY_DELAYS_MS) {
    await sleep(delay);
    try {
      await args.store.save(rotated);
      return;
    } catch (err) {
      last = err;
    }
  }
  const reason = last instanceof Error ? last.message : String(last);
  throw new TokenwardenError(
    'CREDENTIAL_LOST',
    `account ${rotated.account}: the issuer rotated the refresh token, but saving it failed ${SAVE_RETRY_DELAYS_MS.length + 1} times (${reason}); the new refresh token is lost and the stored one is no longer valid`,
    { cause: last, hint: 'fix the storage, then run', remedy: args.login },
  );
}
