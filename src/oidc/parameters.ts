import type { TokenRequest } from './types.js';

/**
 * Form parameters that down-scope a token: `scope` (RFC 6749 section 3.3) and the audience, either as one
 * space-separated `audience` (WLCG IAM, oidc-agent) or as one `resource` per audience (RFC 8707).
 */
export function tokenRequestParameters(request: TokenRequest): URLSearchParams {
  const params = new URLSearchParams();
  if (request.scope && request.scope.length > 0) params.set('scope', request.scope.join(' '));
  if (request.audience && request.audience.length > 0) {
    if (request.audienceParam === 'resource') for (const a of request.audience) params.append('resource', a);
    else params.set('audience', request.audience.join(' '));
  }
  return params;
}
