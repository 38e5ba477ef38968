import { createHash } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { splitSpaced } from './wlcg.js';

/**
 * How a client picks the audience of the access token it is asking for, at any grant:
 * - `audience=a b` (WLCG IAM, what oidc-agent sends; repeated `audience` as in RFC 8693 works too), or
 * - one `resource=` per audience (RFC 8707).
 * Like IAM, any audience may be asked for at any refresh, also one the grant never saw.
 *
 * oidc-provider's own resource indicators cannot do that: a refresh naming a resource outside the grant
 * fails with invalid_target, after the refresh token was already consumed. So the token endpoint's body
 * is rewritten before the provider reads it: every `resource` joins the `audience` list, and the
 * provider always mints behind its one resource server (wlcg.ts RESOURCE_SERVER). The JWT customizer
 * then sets `aud` from that list (requestedAudience).
 */
export function rewriteTokenRequestBody(body: string): string {
  const params = new URLSearchParams(body);
  if (!params.has('resource') && params.getAll('audience').length <= 1) return body;
  const audience = [...params.getAll('audience').flatMap(splitSpaced), ...params.getAll('resource')];
  params.delete('resource');
  params.delete('audience');
  if (audience.length > 0) params.set('audience', audience.join(' '));
  return params.toString();
}

/** The audience list asked for in the current token request (empty: the default audience). */
export function requestedAudience(ctx: KoaContextWithOIDC | undefined): string[] {
  if (ctx?.oidc?.route !== 'token') return [];
  const value = ctx.oidc.body?.audience;
  if (typeof value === 'string') return splitSpaced(value);
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === 'string' ? splitSpaced(v) : []));
  return [];
}

/**
 * `resource=` on the authorization request (RFC 8707 section 2.1), as HTCondor's credmon web app sends
 * the key file's `Audience` and as the SciTokens OAuth server and CILogon take it. oidc-provider would
 * refuse any resource but its one resource server (invalid_target), so the front door takes the
 * resources off the authorization request and gives them back, as `audience`, to the code exchange that
 * proves the same PKCE verifier: the request is keyed by its S256 `code_challenge` (RFC 7636 section
 * 4.2), the exchange by the challenge of its `code_verifier`. Without PKCE the resource stays on the
 * request (and oidc-provider refuses it, as before). Bounded: the oldest entries go first.
 */
export interface AuthorizationAudiences {
  /** The authorization request's path and query without its `resource` parameters (remembered). */
  takeFromAuthorization(url: string): string;
  /** A code exchange's form body with the remembered resources added as `audience`. */
  giveToCodeExchange(body: string): string;
}

const MAX_REMEMBERED_AUDIENCES = 1000;

export function createAuthorizationAudiences(): AuthorizationAudiences {
  const byChallenge = new Map<string, string[]>();
  return {
    takeFromAuthorization(url) {
      const cut = url.indexOf('?');
      if (cut === -1) return url;
      const params = new URLSearchParams(url.slice(cut + 1));
      const resources = params.getAll('resource');
      const challenge = params.get('code_challenge');
      if (resources.length === 0 || !challenge || params.get('code_challenge_method') !== 'S256') return url;
      params.delete('resource');
      byChallenge.set(challenge, resources);
      while (byChallenge.size > MAX_REMEMBERED_AUDIENCES)
        byChallenge.delete(byChallenge.keys().next().value as string);
      return `${url.slice(0, cut)}?${params.toString()}`;
    },
    giveToCodeExchange(body) {
      const params = new URLSearchParams(body);
      const verifier = params.get('code_verifier');
      if (params.get('grant_type') !== 'authorization_code' || !verifier) return body;
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const resources = byChallenge.get(challenge);
      if (resources === undefined || params.has('audience') || params.has('resource')) return body;
      byChallenge.delete(challenge);
      params.set('audience', resources.join(' '));
      return params.toString();
    },
  };
}
