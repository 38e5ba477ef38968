import * as oc from 'openid-client';
import type { Secret } from '../secret.js';
import { translateError } from './errors.js';
import { tokenRequestParameters } from './parameters.js';
import { clientSentSecrets } from './sent-secrets.js';
import { wrapTokenResponse } from './token-response.js';
import type { RequestContext, TokenRequest, TokenResponse } from './types.js';

/** Refresh Token grant (RFC 6749 section 6), down-scoped to `request`'s scope and audience. */
export async function refreshTokenGrant(
  config: oc.Configuration,
  refreshToken: Secret,
  request: TokenRequest,
  ctx: RequestContext,
): Promise<TokenResponse> {
  try {
    return wrapTokenResponse(
      await oc.refreshTokenGrant(config, refreshToken.reveal(), tokenRequestParameters(request)),
    );
  } catch (err) {
    throw translateError(err, 'refresh', ctx, [...clientSentSecrets(config), refreshToken.reveal()]);
  }
}

/** Client Credentials grant (RFC 6749 section 4.4). */
export async function clientCredentialsGrant(
  config: oc.Configuration,
  request: TokenRequest,
  ctx: RequestContext,
): Promise<TokenResponse> {
  try {
    return wrapTokenResponse(await oc.clientCredentialsGrant(config, tokenRequestParameters(request)));
  } catch (err) {
    throw translateError(err, 'client credentials', ctx, clientSentSecrets(config));
  }
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Token Exchange (RFC 8693 section 2.1): trade an access token for a down-scoped one. */
export async function tokenExchangeGrant(
  config: oc.Configuration,
  subjectToken: Secret,
  request: TokenRequest,
  ctx: RequestContext,
): Promise<TokenResponse> {
  const params = tokenRequestParameters(request);
  params.set('subject_token', subjectToken.reveal());
  params.set('subject_token_type', ACCESS_TOKEN_TYPE);
  params.set('requested_token_type', ACCESS_TOKEN_TYPE);
  try {
    return wrapTokenResponse(await oc.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, params));
  } catch (err) {
    throw translateError(err, 'token exchange', ctx, [...clientSentSecrets(config), subjectToken.reveal()]);
  }
}
