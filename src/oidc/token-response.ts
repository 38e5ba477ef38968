import type * as oc from 'openid-client';
import { TokenwardenError } from '../errors.js';
import { secret } from '../secret.js';
import type { TokenResponse } from './types.js';

const SECRET_MEMBERS = new Set(['access_token', 'refresh_token', 'id_token']);

/** Wraps the secrets of a token endpoint response; the rest stays plain (RFC 6749 section 5.1). */
export function wrapTokenResponse(response: oc.TokenEndpointResponse): TokenResponse {
  if (typeof response.access_token !== 'string' || response.access_token === '') {
    throw new TokenwardenError('ISSUER_RESPONSE', 'the issuer returned no access_token');
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(response)) if (!SECRET_MEMBERS.has(k)) extra[k] = v;
  return {
    accessToken: secret(response.access_token),
    refreshToken: typeof response.refresh_token === 'string' ? secret(response.refresh_token) : undefined,
    tokenType: response.token_type,
    expiresIn: typeof response.expires_in === 'number' ? response.expires_in : undefined,
    scope: typeof response.scope === 'string' ? response.scope : undefined,
    extra,
  };
}
