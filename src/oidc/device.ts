import * as oc from 'openid-client';
import { translateError } from './errors.js';
import { tokenRequestParameters } from './parameters.js';
import { clientSentSecrets } from './sent-secrets.js';
import { wrapTokenResponse } from './token-response.js';
import type { RequestContext, TokenRequest, TokenResponse } from './types.js';

export interface DeviceAuthorization {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string | undefined;
  expiresIn: number;
  interval?: number | undefined;
  /** Opaque: the response to hand back to pollDeviceAuthorization. */
  response: oc.DeviceAuthorizationResponse;
}

/** Device Authorization Request (RFC 8628 section 3.1). */
export async function initiateDeviceAuthorization(
  config: oc.Configuration,
  request: TokenRequest,
  ctx: RequestContext,
): Promise<DeviceAuthorization> {
  try {
    const response = await oc.initiateDeviceAuthorization(config, tokenRequestParameters(request));
    return {
      userCode: response.user_code,
      verificationUri: response.verification_uri,
      verificationUriComplete: response.verification_uri_complete,
      expiresIn: response.expires_in,
      interval: response.interval,
      response,
    };
  } catch (err) {
    throw translateError(err, 'device authorization', ctx, clientSentSecrets(config));
  }
}

/**
 * Polls the token endpoint until the user approves (RFC 8628 section 3.4-3.5). openid-client's poller
 * honours `interval`, `slow_down` and `expires_in`; the signal ends it early.
 */
export async function pollDeviceAuthorization(
  config: oc.Configuration,
  authorization: DeviceAuthorization,
  ctx: RequestContext,
): Promise<TokenResponse> {
  try {
    const response = await oc.pollDeviceAuthorizationGrant(config, authorization.response, undefined, {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return wrapTokenResponse(response);
  } catch (err) {
    throw translateError(err, 'device flow', ctx, [
      ...clientSentSecrets(config),
      authorization.response.device_code,
    ]);
  }
}
