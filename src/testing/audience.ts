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
