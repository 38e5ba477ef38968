import * as oc from 'openid-client';
import { secret } from '../secret.js';
import { isLoopbackUrl, parseIssuerUrl } from './client.js';
import { translateError } from './errors.js';
import type { ClientAuthMethod, RequestContext } from './types.js';

export interface RegisteredClient {
  config: oc.Configuration;
  clientId: string;
  clientSecret?: ReturnType<typeof secret> | undefined;
  authMethod: ClientAuthMethod;
  registrationClientUri?: string | undefined;
  registrationAccessToken?: ReturnType<typeof secret> | undefined;
}

export interface RegistrationRequest {
  clientName: string;
  scope: readonly string[];
  grantTypes: readonly string[];
  redirectUris?: readonly string[] | undefined;
}

/** Dynamic Client Registration (RFC 7591 section 3) of a confidential native client. */
export async function registerClient(
  issuer: string,
  request: RegistrationRequest,
  ctx: RequestContext,
): Promise<RegisteredClient> {
  const url = parseIssuerUrl(issuer);
  const metadata: Partial<oc.ClientMetadata> = {
    client_name: request.clientName,
    application_type: 'native',
    grant_types: [...request.grantTypes],
    response_types: request.redirectUris && request.redirectUris.length > 0 ? ['code'] : [],
    redirect_uris: request.redirectUris ? [...request.redirectUris] : [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: request.scope.join(' '),
  };
  try {
    const fetchImpl = ctx.fetch;
    const config = await oc.dynamicClientRegistration(url, metadata, undefined, {
      timeout: ctx.timeoutSeconds,
      ...(fetchImpl
        ? { [oc.customFetch]: (u: string, o: oc.CustomFetchOptions) => fetchImpl(u, o as RequestInit) }
        : {}),
      ...(url.protocol === 'http:' && isLoopbackUrl(url) ? { execute: [oc.allowInsecureRequests] } : {}),
    });
    const client = config.clientMetadata();
    const clientSecret = typeof client.client_secret === 'string' ? secret(client.client_secret) : undefined;
    const rat = client.registration_access_token;
    return {
      config,
      clientId: client.client_id,
      clientSecret,
      authMethod:
        (client.token_endpoint_auth_method as ClientAuthMethod | undefined) ?? 'client_secret_basic',
      registrationClientUri:
        typeof client.registration_client_uri === 'string' ? client.registration_client_uri : undefined,
      registrationAccessToken: typeof rat === 'string' ? secret(rat) : undefined,
    };
  } catch (err) {
    throw translateError(err, `client registration at ${url.href}`, ctx);
  }
}
