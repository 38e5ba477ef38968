import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TokenwardenError } from '../../errors.js';
import type { Log } from '../../log/index.js';
import {
  beginRedirectLogin,
  completeRedirectLogin,
  createClient,
  type OAuthClient,
  type RequestContext,
} from '../../oidc/index.js';
import type { Secret } from '../../secret.js';
import { DISCOVERY_PATH, JWKS_PATH } from '../../signing/index.js';
import { sendError } from '../../web/index.js';
import { findProviderConfig } from '../config/index.js';
import type { CredmonConfig, LocalProviderConfig, OAuth2ProviderConfig } from '../config/types.js';
import { type KeyFileAd, keyFilePath, readKeyFile } from '../key-file.js';
import { KEY_FILE_NAME_RE } from '../names.js';
import type { HeldTop } from '../top-lock.js';
import { readClientSecretFile } from './client-secret.js';
import { issuerDiscovery, readIssuersJwks, servedLocalProviders } from './issuer-documents.js';
import { type ProviderCard, renderIndexPage } from './pages.js';
import {
  PENDING_LOGIN_MS,
  type ProviderState,
  readCookie,
  SESSION_COOKIE,
  type Session,
  type SessionStore,
  sessionCookie,
} from './sessions.js';
import { LOGIN_LOCK_WAIT_MS, lockForLogin, removeKeyFile, storeLogin } from './store-tokens.js';

export interface LoginRoutesOptions {
  config: CredmonConfig;
  log: Log;
  sessions: SessionStore;
  /** Epoch milliseconds. */
  clock: () => number;
  /** For the requests to the providers (tests, instrumentation); the global fetch otherwise. */
  fetch?: typeof fetch | undefined;
  /** The server itself speaks TLS: the session cookie is Secure. */
  tls: boolean;
  /** Believe `X-Forwarded-Proto` (set this behind Apache or nginx only). */
  trustProxy: boolean;
  /** Seconds each request to a provider may take. */
  providerTimeoutSeconds: number;
  /** Told after a login's tokens are stored, so the credmon looks at them now (SIGHUP in --web-only). */
  onStored?: ((user: string, name: string) => void | Promise<void>) | undefined;
  /**
   * Milliseconds a return waits for a refresh of the same credential in progress (the lock on its
   * `.top`) before exchanging the code; LOGIN_LOCK_WAIT_MS (75 s) by default.
   */
  loginLockWaitMs?: number | undefined;
}

/** Routes live under the path of CREDMON_WEB_PREFIX (`https://ap.example.org/credmon` → `/credmon`). */
export function routePrefix(webPrefix: string | undefined): string {
  if (webPrefix === undefined || webPrefix === '') return '';
  let path: string;
  try {
    path = new URL(webPrefix).pathname;
  } catch {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `CREDMON_WEB_PREFIX ${JSON.stringify(webPrefix)} is not a URL (e.g. https://ap.example.org)`,
    );
  }
  return path.replace(/\/+$/, '');
}

/**
 * The routes of the Flask app (OAuthCredmonWebserver), under the web prefix's path:
 * `/` (state), `/key/<64 hex>` (a session from the CredD's key file), `/login/<Provider Handle>` (to the
 * provider), `/return/<svc>` (back from it: tokens stored), and, for the local issuer,
 * `/.well-known/openid-configuration` and `/.well-known/jwks-uri` (also at the root, where relying
 * parties look for them).
 */
export function registerLoginRoutes(app: FastifyInstance, opts: LoginRoutesOptions): void {
  const prefix = routePrefix(opts.config.webPrefix);
  const { config, log, sessions } = opts;
  const ctx = (request: FastifyRequest): RequestContext => ({
    timeoutSeconds: opts.providerTimeoutSeconds,
    fetch: opts.fetch,
    signal: (request as { signal?: AbortSignal }).signal,
  });
  const secure = (request: FastifyRequest) =>
    opts.tls ||
    (config.webPrefix?.startsWith('https:') ?? false) ||
    (opts.trustProxy &&
      String(request.headers['x-forwarded-proto'] ?? '')
        .split(',')[0]
        ?.trim() === 'https');
  const cookiePath = prefix === '' ? '/' : prefix;

  const refuse = (
    reply: FastifyReply,
    err: TokenwardenError,
    who: { user?: string | undefined; cred?: string | undefined } = {},
  ) => {
    log.emit({
      type: 'credmon.login-failed',
      level: 'warning',
      user: who.user,
      cred: who.cred,
      code: err.code,
      message: err.message,
    });
    return sendError(reply, err);
  };

  const cardsOf = (session: Session): ProviderCard[] =>
    [...session.providers.values()]
      .sort((a, b) => a.label.localeCompare(b.label))
      .map((p) => ({
        label: p.label,
        loggedIn: p.loggedIn,
        subject: p.subject,
        problem: p.problem,
        loginHref: `${prefix}/login/${encodeURIComponent(p.label)}`,
      }));

  const sendPage = (reply: FastifyReply, html: string) => reply.type('text/html; charset=utf-8').send(html);

  const index = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = sessions.fromCookie(readCookie(request.headers.cookie, SESSION_COOKIE));
    return sendPage(
      reply,
      renderIndexPage({ user: session?.user, providers: session ? cardsOf(session) : [] }),
    );
  };
  app.get(`${prefix}/`, index);
  if (prefix !== '') app.get(prefix, index);

  app.get<{ Params: { key: string } }>(`${prefix}/key/:key`, async (request, reply) => {
    const keyId = request.params.key;
    if (!KEY_FILE_NAME_RE.test(keyId)) return refuse(reply, unknownKey());
    let ads: KeyFileAd[] | undefined;
    try {
      ads = await readKeyFile(config.credDir, keyId, config.allowSpecialCharNames);
    } catch (err) {
      return refuse(reply, brokenKeyFile(err));
    }
    if (ads === undefined) return refuse(reply, unknownKey());
    const user = (ads[0] as KeyFileAd).localUser;
    // The same browser opening the same link again keeps its session (and its logins in progress).
    const existing = sessions.fromCookie(readCookie(request.headers.cookie, SESSION_COOKIE));
    const providers = new Map<string, ProviderState>();
    for (const ad of ads) {
      const before =
        existing?.keyId === keyId && existing.user === user ? existing.providers.get(ad.label) : undefined;
      const state = before ?? { label: ad.label, credName: ad.credName, loggedIn: false };
      // A provider this access point cannot log in to says so on its card, before the user tries.
      state.problem = await providerSetup(config, ad).then(
        () => undefined,
        (err: unknown) => {
          const e = asError(err);
          log.emit({
            type: 'credmon.login-failed',
            level: 'warning',
            user,
            cred: ad.credName,
            code: e.code,
            message: e.message,
          });
          const why = e.code === 'CONFIG_INVALID' ? e.message : 'its configuration could not be read';
          return `This access point cannot log in to ${ad.label}: ${why}. Tell its administrator.`;
        },
      );
      providers.set(ad.label, state);
    }
    let session: Session;
    if (existing !== undefined && existing.keyId === keyId && existing.user === user) {
      existing.providers = providers;
      session = existing;
    } else {
      if (existing !== undefined) sessions.delete(existing);
      session = sessions.create({ keyId, user, providers });
    }
    reply.header(
      'set-cookie',
      sessionCookie(sessions.cookieValue(session), { path: cookiePath, secure: secure(request) }),
    );
    return sendPage(reply, renderIndexPage({ user, providers: cardsOf(session) }));
  });

  app.get<{ Params: { provider: string } }>(`${prefix}/login/:provider`, async (request, reply) => {
    const session = sessions.fromCookie(readCookie(request.headers.cookie, SESSION_COOKIE));
    if (session === undefined) return refuse(reply, noSession());
    const state = session.providers.get(request.params.provider);
    if (state === undefined)
      return refuse(
        reply,
        new TokenwardenError(
          'USAGE',
          `the link that started this session asks for no provider called ${JSON.stringify(request.params.provider)}`,
        ),
        { user: session.user },
      );
    const who = { user: session.user, cred: state.credName };
    try {
      const ad = await sessionAd(config, session, state.label);
      const setup = await providerSetup(config, ad);
      if (setup.clientSecret !== undefined) log.addSecret(setup.clientSecret);
      const client = await clientFor(setup, undefined, ctx(request));
      const start = await beginRedirectLogin(client, {
        redirectUri: setup.redirectUri,
        scope: splitScopes(ad.scopes),
        resource: ad.audience.trim() === '' ? [] : [ad.audience.trim()],
      });
      state.pending = {
        state: start.state,
        codeVerifier: start.codeVerifier,
        redirectUri: setup.redirectUri,
        startedAt: opts.clock(),
      };
      return reply.redirect(start.authorizationUrl.href, 302);
    } catch (err) {
      return refuse(reply, asError(err), who);
    }
  });

  app.get<{ Params: { svc: string } }>(`${prefix}/return/:svc`, async (request, reply) => {
    const session = sessions.fromCookie(readCookie(request.headers.cookie, SESSION_COOKIE));
    if (session === undefined) return refuse(reply, noSession());
    const query = new URLSearchParams(
      request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '',
    );
    const returnedState = query.get('state');
    if (returnedState === null || returnedState === '')
      return refuse(reply, stateRefused('the provider sent no state back'), { user: session.user });
    const state = [...session.providers.values()].find(
      (p) => p.pending !== undefined && sameText(p.pending.state, returnedState),
    );
    const pending = state?.pending;
    if (state === undefined || pending === undefined)
      return refuse(
        reply,
        stateRefused('its state belongs to no login of this session (forged, or already used)'),
        { user: session.user },
      );
    // Used once: a replay of this return finds nothing.
    state.pending = undefined;
    const who = { user: session.user, cred: state.credName };
    if (opts.clock() - pending.startedAt > PENDING_LOGIN_MS)
      return refuse(reply, stateRefused('the login took too long; start it again'), who);
    let held: HeldTop | undefined;
    try {
      const ad = await sessionAd(config, session, state.label);
      const setup = await providerSetup(config, ad);
      if (setup.clientSecret !== undefined) log.addSecret(setup.clientSecret);
      // A refresh of this credential in progress holds the lock on its .top (for up to the credmon's
      // call deadline): wait for it BEFORE spending the code, so that a login never ends in an error
      // after the provider issued tokens that are then dropped. The code is exchanged and the tokens
      // stored under the lock, so the refresh's rotated .top cannot land over this login's either.
      held = await lockForLogin(
        config.credDir,
        session.user,
        ad.credName,
        opts.loginLockWaitMs ?? LOGIN_LOCK_WAIT_MS,
        (request as { signal?: AbortSignal }).signal,
      );
      const client = await clientFor(setup, query.get('iss') ?? undefined, ctx(request));
      const response = await completeRedirectLogin(
        client,
        query,
        { redirectUri: pending.redirectUri, state: pending.state, codeVerifier: pending.codeVerifier },
        ctx(request),
        // Without discovery the issuer's identifier and ID token algorithms are unknown.
        { ignoreIdToken: setup.provider?.issuer === undefined },
      );
      for (const member of ['access_token', 'refresh_token', 'id_token'] as const) {
        const value = (response as Record<string, unknown>)[member];
        // Cut from the log until this request's response is done (refusals log after the catch).
        if (typeof value === 'string' && value !== '') reply.raw.once('close', log.addSecret(value));
      }
      const stored = await storeLogin({
        credDir: config.credDir,
        user: session.user,
        credName: ad.credName,
        scopes: ad.scopes,
        audience: ad.audience,
        clientId: setup.clientId,
        tokenUrl: client.serverMetadata().token_endpoint ?? setup.tokenUrl ?? '',
        response: response as unknown as Record<string, unknown>,
        now: opts.clock(),
        locked: true,
      });
      await held?.release();
      held = undefined;
      state.loggedIn = true;
      state.subject = subjectOf(response.access_token);
      log.emit({
        type: 'credmon.login-stored',
        level: 'info',
        user: session.user,
        cred: ad.credName,
        refresh: stored.useRefreshToken,
      });
      if ([...session.providers.values()].every((p) => p.loggedIn))
        await removeKeyFile(keyFilePath(config.credDir, session.keyId)).catch((err: unknown) =>
          log.emit({
            type: 'credmon.login-failed',
            level: 'warning',
            user: session.user,
            cred: ad.credName,
            code: asError(err).code,
            message: asError(err).message,
          }),
        );
      try {
        await opts.onStored?.(session.user, ad.credName);
      } catch (err) {
        log.emit({
          type: 'credmon.login-failed',
          level: 'warning',
          user: session.user,
          cred: ad.credName,
          code: asError(err).code,
          message: `the tokens are stored, but the credmon was not told: ${asError(err).message}`,
        });
      }
      return reply.redirect(`${prefix}/`, 303);
    } catch (err) {
      return refuse(reply, asError(err), who);
    } finally {
      await held?.release();
    }
  });

  if (config.local.length > 0) {
    const served = servedLocalProviders(config.local);
    const local = served[0] as LocalProviderConfig;
    const jwksPath = JWKS_PATH;
    // Where the keys are, from the configuration only (never the request's Host header, which a client
    // chooses: a forged one would be echoed into a document caches and relying parties keep): the web
    // prefix when set, else the issuer itself, where relying parties found this discovery document.
    const jwksUri = `${(config.webPrefix ?? local.issuer).replace(/\/+$/, '')}${jwksPath}`;
    const discovery = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.send(issuerDiscovery(local, jwksUri));
    const jwks = async (_request: FastifyRequest, reply: FastifyReply) => {
      try {
        return reply.send(await readIssuersJwks(served));
      } catch (err) {
        return sendError(reply, err);
      }
    };
    for (const base of new Set(['', prefix])) {
      app.get(`${base}${DISCOVERY_PATH}`, discovery);
      app.get(`${base}${jwksPath}`, jwks);
    }
  }
}

/** What a login with one provider needs: client, endpoints, redirect URI, secret. */
interface ProviderSetup {
  ad: KeyFileAd;
  provider: OAuth2ProviderConfig | undefined;
  clientId: string;
  clientSecret: Secret | undefined;
  authorizationUrl: string | undefined;
  tokenUrl: string | undefined;
  redirectUri: string;
}

/**
 * The key file's ad, completed from the configuration where the CredD left a value empty: the client id,
 * the endpoints (or the provider's issuer, for discovery), the client secret (from
 * `<P>_CLIENT_SECRET_FILE`), and the redirect URI (`CREDMON_WEB_PREFIX` + `<P>_RETURN_URL_SUFFIX`).
 */
async function providerSetup(config: CredmonConfig, ad: KeyFileAd): Promise<ProviderSetup> {
  // The same rule as the credmon's: the provider that will refresh these tokens is the one used here.
  const found = findProviderConfig(config, ad.provider);
  const provider = found?.kind === 'oauth2' ? found : undefined;
  const clientId = ad.clientId || provider?.clientId || '';
  if (clientId === '')
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `provider ${ad.provider} has no client id: set ${ad.provider}_CLIENT_ID in the HTCondor configuration`,
    );
  const clientSecret =
    ad.clientSecret ??
    (provider?.clientSecretFile === undefined
      ? undefined
      : await readClientSecretFile(provider.clientSecretFile, `${ad.provider}_CLIENT_SECRET_FILE`));
  const redirectUri =
    ad.returnUrl ||
    (config.webPrefix === undefined || provider === undefined
      ? ''
      : `${config.webPrefix.replace(/\/+$/, '')}${provider.returnUrlSuffix}`);
  if (redirectUri === '')
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `provider ${ad.provider} has no return URL: set CREDMON_WEB_PREFIX and ${ad.provider}_RETURN_URL_SUFFIX`,
    );
  const authorizationUrl = ad.authorizationUrl || provider?.authorizationUrl || undefined;
  const tokenUrl = ad.tokenUrl || provider?.tokenUrl || undefined;
  if ((authorizationUrl === undefined || tokenUrl === undefined) && provider?.issuer === undefined)
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `provider ${ad.provider} has no ${authorizationUrl === undefined ? 'authorization' : 'token'} URL: set ${ad.provider}_${
        authorizationUrl === undefined ? 'AUTHORIZATION' : 'TOKEN'
      }_URL (or ${ad.provider}_ISSUER for discovery)`,
    );
  return { ad, provider, clientId, clientSecret, authorizationUrl, tokenUrl, redirectUri };
}

/**
 * The OAuth client for a provider: by discovery at `<P>_ISSUER` when it is set (then the `iss` of the
 * answer and any ID token are checked against what the issuer published); else from its two endpoints
 * (as the Flask app does), a plain OAuth 2.0 client. It authenticates as requests-oauthlib does for the
 * Flask app, with its id and secret in the form body (client_secret_post); without a secret it is a
 * public client and PKCE alone binds the code. Without discovery, `returnedIssuer`, the `iss` of an
 * authorization response (RFC 9207), is believed only when it is where the token endpoint is.
 */
async function clientFor(
  setup: ProviderSetup,
  returnedIssuer: string | undefined,
  ctx: RequestContext,
): Promise<OAuthClient> {
  const auth = {
    clientId: setup.clientId,
    clientSecret: setup.clientSecret,
    authMethod: setup.clientSecret === undefined ? ('none' as const) : ('client_secret_post' as const),
  };
  if (setup.provider?.issuer !== undefined)
    return createClient({ ...auth, issuer: setup.provider.issuer }, ctx);
  const tokenUrl = setup.tokenUrl as string;
  let issuer = '';
  if (returnedIssuer !== undefined) {
    if (!sameOrigin(returnedIssuer, tokenUrl))
      throw new TokenwardenError(
        'ISSUER_RESPONSE',
        `the login came back from issuer ${returnedIssuer}, which is not where ${setup.ad.provider}'s token URL is; set ${setup.ad.provider}_ISSUER if that is right`,
      );
    issuer = returnedIssuer;
  }
  return createClient(
    { ...auth, issuer, tokenEndpoint: tokenUrl, authorizationEndpoint: setup.authorizationUrl },
    ctx,
  );
}

/** The ad for `label` in the session's key file, read again now (as the Flask app does), and for the session's user only. */
async function sessionAd(config: CredmonConfig, session: Session, label: string): Promise<KeyFileAd> {
  let ads: KeyFileAd[] | undefined;
  try {
    ads = await readKeyFile(config.credDir, session.keyId, config.allowSpecialCharNames);
  } catch (err) {
    throw brokenKeyFile(err);
  }
  if (ads === undefined)
    throw new TokenwardenError(
      'TOKEN_NOT_FOUND',
      'the login link of this session is gone (used up, or older than 12 hours): run condor_submit again for a new one',
    );
  const ad = ads.find((a) => a.label === label);
  if (ad === undefined)
    throw new TokenwardenError('USAGE', `the login link of this session no longer asks for ${label}`);
  if (ad.localUser !== session.user)
    throw new TokenwardenError(
      'USAGE',
      `the login link of this session now names another user (${ad.localUser}, not ${session.user}): open the link condor_submit printed again`,
    );
  return ad;
}

/** The Flask app's scope list: the key file's Scopes split on commas, blanks trimmed, empties dropped. */
export function splitScopes(scopes: string): string[] {
  return scopes
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The `sub` of a JWT access token, for "Logged in as" (the Flask app shows it too); undefined for an opaque token. */
function subjectOf(accessToken: unknown): string | undefined {
  if (typeof accessToken !== 'string') return undefined;
  const payload = accessToken.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub.length <= 200 ? sub : undefined;
  } catch {
    return undefined;
  }
}

function unknownKey(): TokenwardenError {
  return new TokenwardenError(
    'TOKEN_NOT_FOUND',
    'this login link is unknown, already used, or older than 12 hours: run condor_submit again for a new one',
  );
}

function noSession(): TokenwardenError {
  return new TokenwardenError(
    'USAGE',
    'this browser has no login session here (or it expired): open the link condor_submit printed again',
  );
}

function stateRefused(why: string): TokenwardenError {
  return new TokenwardenError('USAGE', `the return from the provider is refused: ${why}`);
}

function brokenKeyFile(err: unknown): TokenwardenError {
  const e = asError(err);
  return new TokenwardenError(e.code, `${e.message} (tell the administrator of this access point)`);
}

function asError(err: unknown): TokenwardenError {
  return err instanceof TokenwardenError
    ? err
    : new TokenwardenError('INTERNAL', err instanceof Error ? err.message : String(err));
}
