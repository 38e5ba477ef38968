import * as oc from 'openid-client';
import { TokenwardenError } from '../errors.js';
import { translateError } from './errors.js';
import { isLoopbackUrl } from './loopback.js';
import { basicCredentialForms, rememberClientSecrets } from './sent-secrets.js';
import type { ClientSpec, RequestContext } from './types.js';

export { isLoopbackUrl };

/**
 * An OAuth client (openid-client's `Configuration`), opaque outside oidc/: callers hold it and hand it
 * back to the grants here. Its client secret sits in openid-client's private state, never in a field.
 */
export type OAuthClient = oc.Configuration;

/** What discovery learnt about an issuer (RFC 8414 metadata), opaque outside oidc/. */
export type IssuerMetadata = oc.ServerMetadata;

export function parseIssuerUrl(value: string, field = 'issuer'): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TokenwardenError('USAGE', `${field} ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new TokenwardenError('USAGE', `${field} ${url.href} must use https (plain http only on loopback)`);
  }
  return url;
}

/**
 * A fetch for openid-client that honours both its own per-request timeout and the caller's signal
 * (for example the deadline of a whole `renew` run).
 */
function fetchWithSignal(ctx: RequestContext): oc.CustomFetch {
  const base = ctx.fetch ?? fetch;
  return (url, options) => {
    const signals = [options.signal, ctx.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return base(url, { ...options, signal } as RequestInit);
  };
}

function clientAuth(spec: ClientSpec): oc.ClientAuth {
  const secret = spec.clientSecret?.reveal();
  switch (spec.authMethod ?? (secret ? 'client_secret_basic' : 'none')) {
    case 'client_secret_post':
      return oc.ClientSecretPost(secret);
    case 'client_secret_basic':
      return oc.ClientSecretBasic(secret);
    case 'none':
      return oc.None();
  }
}

function configure(
  config: oc.Configuration,
  url: URL,
  ctx: RequestContext,
  spec: ClientSpec,
): oc.Configuration {
  const secret = spec.clientSecret?.reveal();
  if (secret !== undefined) rememberClientSecrets(config, basicCredentialForms(spec.clientId, secret));
  config.timeout = ctx.timeoutSeconds;
  config[oc.customFetch] = fetchWithSignal(ctx);
  if (url.protocol === 'http:') oc.allowInsecureRequests(config);
  return config;
}

/**
 * A client configuration for the spec: OIDC discovery at the issuer, or, when only a token endpoint is
 * known (osg-token-renewer client-credentials accounts), a configuration built from it directly.
 */
export async function createClient(spec: ClientSpec, ctx: RequestContext): Promise<oc.Configuration> {
  if (spec.tokenEndpoint !== undefined) {
    const endpoint = parseIssuerUrl(spec.tokenEndpoint, 'token_request_url');
    const server: oc.ServerMetadata = {
      issuer: spec.issuer || endpoint.origin,
      token_endpoint: endpoint.href,
      ...(spec.authorizationEndpoint === undefined
        ? {}
        : {
            authorization_endpoint: parseIssuerUrl(spec.authorizationEndpoint, 'authorization_endpoint').href,
          }),
    };
    return configure(
      new oc.Configuration(server, spec.clientId, undefined, clientAuth(spec)),
      endpoint,
      ctx,
      spec,
    );
  }
  const issuer = parseIssuerUrl(spec.issuer);
  try {
    const config = await oc.discovery(issuer, spec.clientId, undefined, clientAuth(spec), {
      timeout: ctx.timeoutSeconds,
      [oc.customFetch]: fetchWithSignal(ctx),
      ...(issuer.protocol === 'http:' ? { execute: [oc.allowInsecureRequests] } : {}),
    });
    return configure(config, issuer, ctx, spec);
  } catch (err) {
    throw translateError(err, `discovery at ${issuer.href}`, ctx, sentByClient(spec));
  }
}

/**
 * A client of an issuer whose metadata is already known (discoverIssuer): no request is sent, so a
 * long-running process discovers each issuer once and builds a client per session, each with the
 * session's own deadline and fetch (which a client carries).
 */
export function clientFromMetadata(
  metadata: IssuerMetadata,
  spec: ClientSpec,
  ctx: RequestContext,
): OAuthClient {
  const issuer = parseIssuerUrl(spec.issuer);
  return configure(
    new oc.Configuration(metadata, spec.clientId, undefined, clientAuth(spec)),
    issuer,
    ctx,
    spec,
  );
}

/** Reads the issuer's metadata (discovery) without a client. */
export async function discoverIssuer(issuer: string, ctx: RequestContext): Promise<oc.ServerMetadata> {
  const config = await createClient({ issuer, clientId: 'tokenwarden-discovery' }, ctx);
  return config.serverMetadata();
}

/** The secrets a request with this client spec sends (for redacting an issuer's echo of them). */
function sentByClient(spec: ClientSpec): string[] {
  const secret = spec.clientSecret?.reveal();
  return secret === undefined ? [] : basicCredentialForms(spec.clientId, secret);
}
