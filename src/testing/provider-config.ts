import type {
  ClientInstance,
  Configuration,
  IssuedToken,
  JwtStructuredToken,
  KoaContextWithOIDC,
  errors as ProviderErrors,
} from 'oidc-provider';
import { customizeJwtAccessToken, resourceServerInfo } from './access-tokens.js';
import { findAccount } from './accounts.js';
import { CLIENT_METADATA_HOOK, normalizeClientMetadata } from './client-metadata.js';
import { INTERACTION_PATH } from './interactions.js';
import type { IssuerKeys } from './keys.js';
import type { MemoryStore } from './memory-store.js';
import type { ResolvedTestIssuerOptions } from './options.js';
import { deviceSuccessPage, errorPage, userCodeConfirmPage, userCodeInputPage } from './pages.js';
import { RESOURCE_SERVER, STATIC_SCOPES } from './wlcg.js';

export interface ProviderConfigurationInput {
  options: ResolvedTestIssuerOptions;
  keys: IssuerKeys;
  store: MemoryStore;
  errors: typeof ProviderErrors;
}

/**
 * The whole oidc-provider configuration of the test issuer, in one place: a WLCG token issuer (INDIGO
 * IAM) with discovery, dynamic registration, device flow, client credentials, refresh token rotation and
 * JWT access tokens. Token exchange and the audience handling are added around the provider
 * (token-exchange.ts, audience.ts).
 */
export function buildProviderConfiguration(input: ProviderConfigurationInput): Configuration {
  const { options, keys, store, errors } = input;
  const tokenSettings = { accessTokenTtl: options.accessTokenTtl, signingAlg: options.signingAlg };
  const hour = 60 * 60;

  return {
    adapter: (model: string) => store.adapterFor(model),
    jwks: keys.jwks,
    cookies: { keys: keys.cookieKeys },
    findAccount,
    scopes: [...STATIC_SCOPES],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      'wlcg.groups': ['wlcg.groups'],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: options.signingAlg,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    responseTypes: ['code', 'none'],
    rotateRefreshToken: true,
    extraClientMetadata: {
      properties: [CLIENT_METADATA_HOOK],
      validator(_ctx: unknown, _key: string, _value: unknown, metadata: Record<string, unknown>) {
        normalizeClientMetadata(metadata);
      },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION_PATH}${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // oidc-provider's default policy: a public client may only introspect its own tokens.
        allowedPolicy: async (
          _ctx: KoaContextWithOIDC,
          client: ClientInstance,
          token: { clientId?: string },
        ) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        // oidc-provider's default policy: a client may only revoke its own tokens.
        allowedPolicy: async (
          _ctx: KoaContextWithOIDC,
          client: ClientInstance,
          token: { clientId?: string },
        ) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: true },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      rpInitiatedLogout: { enabled: false },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (
          ctx: KoaContextWithOIDC,
          form: string,
          _out: unknown,
          err: { userCode?: string; name?: string } | undefined,
        ) => {
          const message =
            err?.userCode || err?.name === 'NoCodeError'
              ? 'That code is not right; try again.'
              : err
                ? 'The sign-in was interrupted.'
                : undefined;
          setHtml(ctx, userCodeInputPage(form, message));
        },
        userCodeConfirmSource: async (
          ctx: KoaContextWithOIDC,
          form: string,
          client: ClientInstance,
          _deviceInfo: unknown,
          userCode: string,
        ) => {
          setHtml(ctx, userCodeConfirmPage(form, clientName(client), userCode));
        },
        successSource: async (ctx: KoaContextWithOIDC) => {
          setHtml(ctx, deviceSuccessPage(clientName(ctx.oidc.client)));
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE_SERVER,
        // Redeeming a code or refresh token keeps minting for the resource server (so a JWT), even with
        // the openid scope, for which oidc-provider would otherwise mint an opaque userinfo token.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (
          ctx: KoaContextWithOIDC,
          identifier: string,
          client: ClientInstance,
        ) => {
          if (identifier !== RESOURCE_SERVER) {
            throw new errors.InvalidTarget(
              'this issuer takes the audience as audience= or resource= at the token endpoint only',
            );
          }
          return resourceServerInfo(ctx, client, tokenSettings);
        },
      },
    },
    formats: {
      customizers: {
        jwt: async (ctx: KoaContextWithOIDC | undefined, token: IssuedToken, jwt: JwtStructuredToken) => {
          customizeJwtAccessToken(ctx, token, jwt);
        },
      },
    },
    renderError: async (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }) => {
      setHtml(ctx, errorPage(out.error, out.error_description));
    },
    ttl: {
      AccessToken: options.accessTokenTtl,
      ClientCredentials: options.accessTokenTtl,
      IdToken: options.accessTokenTtl,
      RefreshToken: options.refreshTokenTtl,
      // A grant outlives every refresh token issued from it.
      Grant: options.refreshTokenTtl + hour,
      DeviceCode: options.deviceCodeTtl,
      AuthorizationCode: 60,
      Interaction: hour,
      Session: 14 * 24 * hour,
    },
  };
}

function clientName(client: ClientInstance | undefined): string {
  const name = client?.metadata().client_name;
  return typeof name === 'string' && name ? name : (client?.clientId ?? 'unknown client');
}

function setHtml(ctx: KoaContextWithOIDC, html: string): void {
  ctx.type = 'html';
  ctx.body = html;
}
