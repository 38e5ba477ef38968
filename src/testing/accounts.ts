import type { Account } from 'oidc-provider';
import { DEFAULT_GROUPS } from './wlcg.js';

/**
 * The test issuer's user directory: every non-empty account id exists (its login page accepts any user
 * name) and belongs to the default WLCG groups.
 */
export function groupsOf(_accountId: string): string[] {
  return [...DEFAULT_GROUPS];
}

/** oidc-provider's `findAccount` hook. */
export async function findAccount(_ctx: unknown, accountId: string): Promise<Account | undefined> {
  if (typeof accountId !== 'string' || accountId.length === 0) return undefined;
  return {
    accountId,
    claims: () => ({
      sub: accountId,
      name: accountId,
      preferred_username: accountId,
      email: `${accountId}@test-issuer.invalid`,
      email_verified: true,
      'wlcg.groups': groupsOf(accountId),
    }),
  };
}
