import type * as oc from 'openid-client';
import { OAuthError, TokenwardenError } from '../errors.js';
import {
  type RequestContext,
  refreshTokenGrant,
  type TokenRequest,
  type TokenResponse,
} from '../oidc/index.js';
import type { AccountRecord, CredentialStore } from '../store/index.js';

export interface RefreshArgs {
  store: CredentialStore;
  record: AccountRecord;
  client: oc.Configuration;
  request: TokenRequest;
  ctx: RequestContext;
  /** The command that gives the account a new login, for messages (`tokenwarden setup NAME ...`). */
  loginHint: string;
  clock?: () => number;
}

/**
 * One refresh grant for an account whose lock the caller holds. A rotated refresh token is durably stored
 * before the new access token is returned or used (docs/architecture.md invariant 1); the one it
 * replaces is kept as `previousRefreshToken`. `invalid_grant` marks the account `needsLogin` (so headless
 * runs stop using a dead token) and becomes a NEEDS_LOGIN error saying what to run.
 */
export async function refreshWithRotation(
  args: RefreshArgs,
): Promise<{ response: TokenResponse; record: AccountRecord }> {
  const { record, store } = args;
  const now = () => new Date((args.clock ?? Date.now)()).toISOString();
  if (record.needsLogin) {
    throw new TokenwardenError(
      'NEEDS_LOGIN',
      `account ${record.account} needs a new login (since ${record.needsLogin.since}: ${record.needsLogin.reason})`,
      { hint: `run: ${args.loginHint}` },
    );
  }
  if (record.refreshToken === undefined) {
    throw new TokenwardenError('NEEDS_LOGIN', `account ${record.account} holds no refresh token`, {
      hint: `run: ${args.loginHint}`,
    });
  }
  let response: TokenResponse;
  try {
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
      await store.save({ ...current, needsLogin: { since: now(), reason: err.message }, updatedAt: now() });
      throw new TokenwardenError('NEEDS_LOGIN', `account ${record.account}: ${err.message}`, {
        hint: `the refresh token is no longer valid; run: ${args.loginHint}`,
      });
    }
    throw err;
  }
  if (response.refreshToken === undefined || response.refreshToken.equals(record.refreshToken)) {
    return { response, record };
  }
  const rotated: AccountRecord = {
    ...record,
    previousRefreshToken: record.refreshToken,
    refreshToken: response.refreshToken,
    updatedAt: now(),
  };
  await store.save(rotated);
  return { response, record: rotated };
}
