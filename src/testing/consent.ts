import type { GrantInstance, Provider } from 'oidc-provider';
import { isStaticScope, isSupportedScope, RESOURCE_SERVER, splitSpaced } from './wlcg.js';

/** The scopes a consent covers: the requested ones the issuer knows, in request order, once each. */
export function consentedScopes(requested: unknown): string[] {
  return [...new Set(splitSpaced(typeof requested === 'string' ? requested : undefined))].filter(
    isSupportedScope,
  );
}

/**
 * Consent to everything asked for: the OpenID Connect scopes, and all scopes (OIDC and WLCG) at the one
 * resource server, so that access tokens carry them (oidc-provider drops the scopes a grant lacks).
 * Adds to `grant` when given (a returning user), else to a new grant. Returns the grant id.
 */
export async function grantScopes(
  provider: Provider,
  accountId: string,
  clientId: string,
  scopes: readonly string[],
  grant: GrantInstance = new provider.Grant({ accountId, clientId }),
): Promise<string> {
  const oidc = scopes.filter(isStaticScope);
  if (oidc.length > 0) grant.addOIDCScope(oidc.join(' '));
  if (scopes.length > 0) grant.addResourceScope(RESOURCE_SERVER, scopes.join(' '));
  return grant.save();
}
