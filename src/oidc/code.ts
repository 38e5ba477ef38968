import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oc from 'openid-client';
import { TokenwardenError } from '../errors.js';
import { translateError } from './errors.js';
import { tokenRequestParameters } from './parameters.js';
import { clientSentSecrets } from './sent-secrets.js';
import { wrapTokenResponse } from './token-response.js';
import type { RequestContext, TokenRequest, TokenResponse } from './types.js';

/**
 * A loopback redirect receiver for native apps (RFC 8252 section 7.3): an HTTP server on 127.0.0.1 that
 * waits for one request to /callback.
 */
export interface LoopbackReceiver {
  readonly redirectUri: string;
  /** Resolves with the full callback URL once the browser is redirected back. */
  waitForCallback(signal?: AbortSignal): Promise<URL>;
  close(): Promise<void>;
}

export async function startLoopbackReceiver(port = 0): Promise<LoopbackReceiver> {
  let deliver: (url: URL) => void = () => {};
  const received = new Promise<URL>((resolve) => {
    deliver = resolve;
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('tokenwarden: login finished, you can close this window.\n');
    deliver(url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  let closed = false;
  return {
    redirectUri,
    waitForCallback(signal) {
      if (!signal) return received;
      return new Promise<URL>((resolve, reject) => {
        const onAbort = () => reject(new TokenwardenError('TIMEOUT', 'login was not finished in time'));
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        received.then(resolve, reject);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface AuthorizationCodeLogin {
  authorizationUrl: URL;
  /** Waits for the redirect, then exchanges the code (with the PKCE verifier, RFC 7636). */
  complete(signal?: AbortSignal): Promise<TokenResponse>;
}

/** Authorization Code grant with PKCE S256 on a loopback redirect (RFC 6749 section 4.1, RFC 7636). */
export async function beginAuthorizationCodeLogin(
  config: oc.Configuration,
  receiver: LoopbackReceiver,
  request: TokenRequest,
  ctx: RequestContext,
): Promise<AuthorizationCodeLogin> {
  const verifier = oc.randomPKCECodeVerifier();
  const challenge = await oc.calculatePKCECodeChallenge(verifier);
  const state = oc.randomState();
  const params = tokenRequestParameters(request);
  params.set('redirect_uri', receiver.redirectUri);
  params.set('code_challenge', challenge);
  params.set('code_challenge_method', 'S256');
  params.set('state', state);
  params.set('prompt', 'consent');
  const authorizationUrl = oc.buildAuthorizationUrl(config, params);
  return {
    authorizationUrl,
    async complete(signal) {
      const callback = await receiver.waitForCallback(signal);
      try {
        const response = await oc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          idTokenExpected: false,
        });
        return wrapTokenResponse(response);
      } catch (err) {
        const code = callback.searchParams.get('code');
        throw translateError(err, 'authorization code login', ctx, [
          ...clientSentSecrets(config),
          verifier,
          ...(code ? [code] : []),
        ]);
      }
    },
  };
}
