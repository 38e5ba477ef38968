import * as oc from 'openid-client';
import { translateError } from './errors.js';
import { clientSentSecrets } from './sent-secrets.js';
import type { RequestContext } from './types.js';

/**
 * The authorization code grant of a web application (RFC 6749 section 4.1) with PKCE S256 (RFC 7636)
 * and `state`, split in its two halves because a server runs them in two requests of one browser: the
 * redirect to the authorization endpoint, then the browser's return to the redirect URI. What the first
 * half makes (state, verifier) is kept by the caller (a server-side session) until the second.
 */

export interface RedirectLoginRequest {
  /** The exact redirect URI registered with the provider; sent again with the code (RFC 6749 section 4.1.3). */
  redirectUri: string;
  scope?: readonly string[] | undefined;
  /** RFC 8707 `resource` parameters, one per audience (what the Flask credmon sends for `Audience`). */
  resource?: readonly string[] | undefined;
}

export interface RedirectLoginStart {
  authorizationUrl: URL;
  /** The `state` sent: the return must carry it back (CSRF, RFC 6749 section 10.12). */
  state: string;
  /** The PKCE code verifier, a secret until the code exchange. */
  codeVerifier: string;
}

/** The authorization URL for a new login, with fresh `state` and PKCE S256. */
export async function beginRedirectLogin(
  config: oc.Configuration,
  request: RedirectLoginRequest,
): Promise<RedirectLoginStart> {
  const codeVerifier = oc.randomPKCECodeVerifier();
  const challenge = await oc.calculatePKCECodeChallenge(codeVerifier);
  const state = oc.randomState();
  const params = new URLSearchParams();
  params.set('redirect_uri', request.redirectUri);
  params.set('response_type', 'code');
  if (request.scope && request.scope.length > 0) params.set('scope', request.scope.join(' '));
  for (const r of request.resource ?? []) params.append('resource', r);
  // OIDC Core section 11: a provider ignores offline_access (so issues no refresh token) without consent.
  if (request.scope?.includes('offline_access')) params.set('prompt', 'consent');
  params.set('code_challenge', challenge);
  params.set('code_challenge_method', 'S256');
  params.set('state', state);
  return { authorizationUrl: oc.buildAuthorizationUrl(config, params), state, codeVerifier };
}

/**
 * Exchanges the code the browser brought back. `returned` is the query of the request to the redirect
 * URI; it is put onto `redirectUri` itself, so the redirect URI sent with the code is exactly the one
 * the login began with, whatever host name or proxy the request came through. Checks `state` (and `iss`
 * when the provider sends one, RFC 9207) and answers with the token endpoint's raw response (RFC 6749
 * section 5.1), whose secrets the caller must guard. Errors are translated once, with the code, the
 * verifier and the client secret redacted by value from anything the provider sent back.
 */
export async function completeRedirectLogin(
  config: oc.Configuration,
  returned: URLSearchParams,
  checks: { redirectUri: string; state: string; codeVerifier: string },
  ctx: RequestContext,
  options: { ignoreIdToken?: boolean } = {},
): Promise<oc.TokenEndpointResponse> {
  const current = new URL(checks.redirectUri);
  for (const [k, v] of returned) current.searchParams.append(k, v);
  const raw = recordTokenResponse(config, options.ignoreIdToken ?? false);
  try {
    const response = await oc.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      idTokenExpected: false,
    });
    // The response as the issuer sent it (openid-client lower-cases token_type and adds methods).
    return (raw.body ?? JSON.parse(JSON.stringify(response))) as oc.TokenEndpointResponse;
  } catch (err) {
    const code = returned.get('code');
    throw translateError(err, 'authorization code login', ctx, [
      ...clientSentSecrets(config),
      checks.codeVerifier,
      ...(code ? [code] : []),
    ]);
  }
}

/**
 * Keeps the token endpoint's JSON body as the issuer sent it, for the credmon's `.use` ("the token
 * response minus refresh_token"). With `ignoreIdToken` the body's `id_token` is dropped before
 * openid-client reads it: a plain OAuth 2.0 client of endpoints known without discovery (HTCondor's
 * `<P>_AUTHORIZATION_URL` and `<P>_TOKEN_URL`, as requests-oauthlib is for the Flask app) knows neither
 * the issuer's identifier nor its ID token algorithms, so it cannot validate an ID token, and it has no
 * use for one.
 */
function recordTokenResponse(config: oc.Configuration, ignoreIdToken: boolean): { body?: unknown } {
  const record: { body?: unknown } = {};
  const inner = (config[oc.customFetch] ?? fetch) as (u: string, i: unknown) => Promise<Response>;
  config[oc.customFetch] = async (url, init) => {
    const response = await inner(url, init);
    if (!(response.headers.get('content-type') ?? '').includes('json')) return response;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return new Response(text, response);
    }
    if (ignoreIdToken && typeof body === 'object' && body !== null && 'id_token' in body)
      delete (body as Record<string, unknown>).id_token;
    if (response.ok) record.body = body;
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    return new Response(JSON.stringify(body), {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
  return record;
}
