import type { DeviceCodeInstance, Middleware, Provider } from 'oidc-provider';
import { TokenwardenError } from '../errors.js';
import { consentedScopes, grantScopes } from './consent.js';
import { RESOURCE_SERVER } from './wlcg.js';

/**
 * The device authorization grant (RFC 8628) without a browser: what a user would do on the verification
 * page, done directly on the stored device code.
 */

/** oidc-provider stores user codes upper-cased without separators ("WDJB-MJHT" → "WDJBMJHT"). */
function normalizeUserCode(userCode: string): string {
  return userCode.toUpperCase().replace(/\W/g, '');
}

async function pendingDeviceCode(provider: Provider, userCode: string): Promise<DeviceCodeInstance> {
  const code = await provider.DeviceCode.findByUserCode(normalizeUserCode(userCode), {
    ignoreExpiration: true,
  });
  if (!code) throw new TokenwardenError('USAGE', `test issuer: no device code with user code ${userCode}`);
  if (code.isExpired) throw new TokenwardenError('USAGE', `test issuer: user code ${userCode} has expired`);
  if (code.accountId || code.error) {
    throw new TokenwardenError('USAGE', `test issuer: user code ${userCode} was already approved or denied`);
  }
  return code;
}

/**
 * Approves a pending device code as `accountId`: a new grant with every requested scope the issuer knows
 * (OIDC and WLCG) at the default resource; the client's next poll gets the tokens (section 3.5).
 */
export async function approveDeviceCode(
  provider: Provider,
  userCode: string,
  accountId: string,
): Promise<void> {
  const code = await pendingDeviceCode(provider, userCode);
  const scopes = consentedScopes(code.params.scope);
  const grantId = await grantScopes(provider, accountId, code.clientId, scopes);
  Object.assign(code, {
    accountId,
    grantId,
    scope: scopes.join(' '),
    resource: RESOURCE_SERVER,
    authTime: Math.floor(Date.now() / 1000),
  });
  await code.save();
}

/** Denies a pending device code: the client's next poll gets access_denied (RFC 8628 section 3.5). */
export async function denyDeviceCode(provider: Provider, userCode: string): Promise<void> {
  const code = await pendingDeviceCode(provider, userCode);
  Object.assign(code, { error: 'access_denied', errorDescription: 'End-User aborted interaction' });
  await code.save();
}

/**
 * Post-processes device authorization responses (RFC 8628 section 3.2): puts in the polling `interval`
 * oidc-provider leaves out (clients would then wait 5 s between polls), and with `autoApprove` approves
 * the new code before the client even sees it.
 */
export function deviceAuthorizationMiddleware(
  provider: Provider,
  interval: number,
  autoApprove: string | undefined,
): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'device_authorization' || ctx.status !== 200) return;
    const body = ctx.body as { user_code?: unknown; interval?: number };
    body.interval = interval;
    if (autoApprove !== undefined && typeof body.user_code === 'string') {
      await approveDeviceCode(provider, body.user_code, autoApprove);
    }
  };
}
