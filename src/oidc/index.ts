export {
  clientFromMetadata,
  createClient,
  discoverIssuer,
  type IssuerMetadata,
  isLoopbackUrl,
  type OAuthClient,
  parseIssuerUrl,
} from './client.js';
export {
  type AuthorizationCodeLogin,
  beginAuthorizationCodeLogin,
  type LoopbackReceiver,
  startLoopbackReceiver,
} from './code.js';
export { type DeviceAuthorization, initiateDeviceAuthorization, pollDeviceAuthorization } from './device.js';
export { translateError } from './errors.js';
export { accountErrorContext, explainOAuthError, type OAuthErrorContext } from './explain.js';
export {
  ACCESS_TOKEN_TYPE,
  clientCredentialsGrant,
  refreshTokenGrant,
  TOKEN_EXCHANGE_GRANT,
  tokenExchangeGrant,
} from './grants.js';
export { tokenRequestParameters } from './parameters.js';
export {
  beginRedirectLogin,
  completeRedirectLogin,
  type RedirectLoginRequest,
  type RedirectLoginStart,
} from './redirect-login.js';
export { type RegisteredClient, type RegistrationRequest, registerClient } from './register.js';
export type {
  AudienceParam,
  ClientAuthMethod,
  ClientSpec,
  RequestContext,
  TokenRequest,
  TokenResponse,
} from './types.js';
