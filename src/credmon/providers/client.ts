import { ClientCache, expiryOf } from '../../credentials/index.js';
import { OAuthError, TokenwardenError } from '../../errors.js';
import type { TokenResponse } from '../../oidc/index.js';
import { Secret } from '../../secret.js';
import { decodeToken } from '../../tokens/index.js';
import { readClientSecretFile } from '../client-secret.js';
import type { ClientProviderConfig } from '../config/types.js';
import { writeCredFile } from '../cred-files.js';
import { isValidUserName } from '../names.js';
import { checkTemplate, expandTemplate } from './authz-template.js';
import { type GroupMapfile, openGroupMapfile } from './group-mapfile.js';
import { checkTopPresent } from './top-present.js';
import type { CredentialProvider, CredentialRef, ProviderContext, RenewOutcome } from './types.js';

/**
 * The client-credentials provider (HTCondor's ClientCredmon): for every `<user>/<name>.top` of its
 * provider it asks the issuer's token endpoint for a token with the site's own client (RFC 6749 section
 * 4.4) and writes it to `<user>/<name>.use` exactly as the local issuer does (`{"access_token",
 * "expires_in"}`, or `<JWT>\n` with `TOKEN_USE_JSON = false`).
 *
 * Where the Python one breaks, this one follows the RFC: the scope goes in `scope=` (space-separated),
 * not `scopes=`; the audience in one space-separated `audience=` (what WLCG IAM and the Python one send);
 * the client authenticates as the Python one does, id and secret in the form body
 * (`client_secret_post`). The token endpoint is `TOKEN_URL`, or the issuer's discovery, kept an hour
 * (TOKEN_ENDPOINT_LIFETIME, as the Python one). The scopes are those of the local issuer's knobs, as
 * the Python one inherits them: AUTHZ_TEMPLATE, AUTHZ_GROUP_TEMPLATE per group of AUTHZ_GROUP_MAPFILE,
 * and `wlcg` for the WLCG TOKEN_VERSION. The client secret is read from `CLIENT_SECRET_FILE` at
 * each request (a rotated secret is used without a restart), never copied anywhere, and cut from any
 * text the issuer sends back. Each request has the engine's deadline (ctx.signal) and its own timeout.
 *
 * Users whose requests are the same (no `{username}` in the scopes) share one request: a token asked for
 * less than a quarter of its lifetime ago is written for the next user too, so 10,000 users do not cost
 * the issuer 10,000 identical requests per renewal period.
 */

/** Lifetime assumed when the issuer says nothing (no `expires_in`, no JWT `exp`) and TOKEN_LIFETIME is unset: the Python default. */
export const DEFAULT_CLIENT_TOKEN_LIFETIME = 1200;
/** Seconds before one token request is abandoned, unless the engine's deadline comes first. */
export const DEFAULT_CLIENT_TIMEOUT_SECONDS = 30;
/** A shared token is reused while less than this part of its lifetime has passed. */
const SHARE_FRACTION = 0.25;

/** The knob name of a client-credentials setting, in HTCondor's lookup order, for messages. */
export function clientKnob(provider: string, knob: string): string {
  return `CLIENT_CREDMON_${provider.toUpperCase()}_${knob} (or CLIENT_CREDMON_${knob})`;
}

export interface ClientProviderOptions {
  /** Discovery cache, shared between providers of one process. */
  clientCache?: ClientCache;
  /** Per-request timeout in seconds (default 30). */
  timeoutSeconds?: number;
}

/** Checks the configuration without any I/O (pure). */
export function checkClientProviderConfig(config: ClientProviderConfig): void {
  const knob = (k: string) => clientKnob(config.name, k);
  if (config.clientId.length === 0) {
    throw new TokenwardenError('CONFIG_INVALID', `${knob('CLIENT_ID')} is not set`, {
      hint: 'set it to the client id the issuer registered for this access point',
    });
  }
  if (config.tokenUrl === undefined && config.issuer === undefined) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `neither ${knob('TOKEN_URL')} nor ${knob('ISSUER')} is set: no token endpoint`,
      { hint: 'set ISSUER (its discovery gives the token endpoint) or TOKEN_URL' },
    );
  }
  for (const s of config.scopes) checkTemplate(s, 'username', knob('AUTHZ_TEMPLATE'));
  if (config.authzGroupTemplate !== undefined)
    checkTemplate(config.authzGroupTemplate, 'groupname', knob('AUTHZ_GROUP_TEMPLATE'));
  if (
    config.lifetimeSeconds !== undefined &&
    (!Number.isInteger(config.lifetimeSeconds) || config.lifetimeSeconds <= 0)
  ) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob('TOKEN_LIFETIME')} = ${config.lifetimeSeconds} is not a positive whole number of seconds`,
    );
  }
}

/**
 * The `scope` asked for a user, as HTCondor's ClientCredmon builds it: each configured scope with
 * `{username}` expanded, AUTHZ_GROUP_TEMPLATE once per group of the user, and `wlcg` when TOKEN_VERSION
 * is the WLCG profile; duplicates dropped.
 */
export function clientScopeFor(
  config: Pick<ClientProviderConfig, 'scopes' | 'authzGroupTemplate' | 'tokenVersion'>,
  user: string,
  groups: readonly string[] = [],
): string[] {
  const scopes = new Set<string>();
  const add = (text: string) => {
    for (const s of text.split(/\s+/)) if (s) scopes.add(s);
  };
  for (const template of config.scopes) add(expandTemplate(template, 'username', user));
  if (config.authzGroupTemplate !== undefined)
    for (const g of groups) add(expandTemplate(config.authzGroupTemplate, 'groupname', g));
  if (config.tokenVersion === 'wlcg' || config.tokenVersion === 'wlcg:1.0') scopes.add('wlcg');
  return [...scopes];
}

interface Issued {
  text: string;
  issuedAt: number;
  expiresAt: number;
}

export function createClientProvider(
  config: ClientProviderConfig,
  options: ClientProviderOptions = {},
): CredentialProvider {
  const clients =
    options.clientCache ??
    new ClientCache(
      config.tokenEndpointLifetimeSeconds === undefined
        ? {}
        : { ttlMs: config.tokenEndpointLifetimeSeconds * 1000 },
    );
  const mapfile: GroupMapfile | undefined =
    config.authzGroupMapfile === undefined || config.authzGroupTemplate === undefined
      ? undefined
      : openGroupMapfile(config.authzGroupMapfile, clientKnob(config.name, 'AUTHZ_GROUP_MAPFILE'));
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_CLIENT_TIMEOUT_SECONDS;
  const secretKnob = clientKnob(config.name, 'CLIENT_SECRET_FILE');
  /** Recent and in-flight requests by what they ask (scope and audience), shared between users. */
  const shared = new Map<string, Promise<Issued>>();

  /** The client secret last read, cut from the log while it is the one in use. */
  let heldSecret: { value: string; forget: () => void } | undefined;

  async function readSecret(ctx: Pick<ProviderContext, 'log'>): Promise<Secret> {
    const value = (await readClientSecretFile(config.clientSecretFile, secretKnob)).reveal();
    // Read at every request: registered once per value (a rotated secret replaces the old one).
    if (heldSecret?.value !== value) {
      heldSecret?.forget();
      heldSecret = { value, forget: ctx.log.addSecret(value) };
    }
    return new Secret(value);
  }

  async function request(scope: string[], ctx: ProviderContext): Promise<Issued> {
    const clientSecret = await readSecret(ctx);
    const reqCtx = { timeoutSeconds, signal: ctx.signal, fetch: ctx.fetch };
    const oidc = await import('../../oidc/index.js');
    let response: TokenResponse;
    try {
      const client = await clients.client(
        {
          issuer: config.issuer ?? '',
          clientId: config.clientId,
          clientSecret,
          authMethod: 'client_secret_post',
          tokenEndpoint: config.tokenUrl,
        },
        reqCtx,
      );
      response = await oidc.clientCredentialsGrant(
        client,
        { scope, audience: config.audience, audienceParam: 'audience' },
        reqCtx,
      );
    } catch (err) {
      throw explain(err, config);
    }
    const token = response.accessToken.reveal();
    // Cut from the log while this request runs (the engine writes `.use` without logging its text).
    const forget = ctx.log.addSecret(token);
    try {
      const now = Math.floor(ctx.clock() / 1000);
      let claims: { exp?: number | undefined } | undefined;
      try {
        claims = decodeToken(token).claims;
      } catch {
        claims = undefined; // an opaque token: its lifetime is what expires_in says
      }
      const expiresAt =
        expiryOf(response, claims, now) ?? now + (config.lifetimeSeconds ?? DEFAULT_CLIENT_TOKEN_LIFETIME);
      // What the issuer said, as the Python credmon writes it; else what the token or the knob says.
      const expiresIn = response.expiresIn ?? Math.max(0, expiresAt - now);
      const text = config.useJson
        ? JSON.stringify({ access_token: token, expires_in: expiresIn })
        : `${token}\n`;
      return { text, issuedAt: now, expiresAt };
    } finally {
      forget();
    }
  }

  /** One request for every user asking the same thing while the last answer is fresh. */
  function issued(scope: string[], ctx: ProviderContext): Promise<Issued> {
    const key = JSON.stringify([scope, config.audience]);
    const now = Math.floor(ctx.clock() / 1000);
    const known = shared.get(key);
    if (known !== undefined) {
      return known.then((t) => {
        if (now < t.issuedAt + SHARE_FRACTION * (t.expiresAt - t.issuedAt)) return t;
        // Stale: the first user to see it asks again; the others wait for that answer.
        const newer = shared.get(key);
        return newer !== undefined && newer !== known ? newer : fresh();
      });
    }
    return fresh();

    function fresh(): Promise<Issued> {
      const p = request(scope, ctx);
      shared.set(key, p);
      p.catch(() => {
        if (shared.get(key) === p) shared.delete(key);
      });
      // Bounded: a request per distinct scope, and per-user scopes are not worth keeping.
      if (shared.size > 1000) shared.delete(shared.keys().next().value as string);
      return p;
    }
  }

  return {
    kind: 'client',
    name: config.name,

    /** The configuration, and the secret file readable and not empty (as the Python one demands at start). */
    async prepare(ctx) {
      checkClientProviderConfig(config);
      await readSecret(ctx);
      await mapfile?.groupsOf('');
      shared.clear();
    },

    async renew(ref: CredentialRef, ctx: ProviderContext): Promise<RenewOutcome> {
      if (!isValidUserName(ref.user)) {
        throw new TokenwardenError(
          'FILE_UNSAFE',
          `refusing the user directory name ${JSON.stringify(ref.user)}`,
        );
      }
      await checkTopPresent(ctx.credDir, ref);
      const groups = mapfile === undefined ? [] : await mapfile.groupsOf(ref.user);
      const scope = clientScopeFor(config, ref.user, groups);
      const t = await issued(scope, ctx);
      await writeCredFile(ctx.credDir, ref.user, ref.cred.name, 'use', t.text);
      return { expiresAt: t.expiresAt, issuedAt: t.issuedAt };
    },
  };
}

/** The token request's failure, said for this provider; codes, HTTP status and Retry-After kept. */
function explain(err: unknown, config: ClientProviderConfig): TokenwardenError {
  // No user named: one request may serve several users (the credmon's log line names each).
  const what = `client credentials for provider ${config.name}`;
  if (err instanceof OAuthError) {
    const hint =
      err.error === 'invalid_client' || err.error === 'unauthorized_client'
        ? `check ${clientKnob(config.name, 'CLIENT_ID')} and the secret in ${config.clientSecretFile}`
        : err.error === 'invalid_scope'
          ? `the issuer refused the scopes ${JSON.stringify(config.scopes.join(' '))}: check ${clientKnob(config.name, 'AUTHZ_TEMPLATE')}`
          : err.hint;
    return new OAuthError(err.error, err.errorDescription, err.status, {
      grant: 'client credentials',
      message: `${what}: ${err.message}`,
      hint,
      httpStatus: err.httpStatus,
      retryAfterSeconds: err.retryAfterSeconds,
    });
  }
  if (err instanceof TokenwardenError) {
    return new TokenwardenError(err.code, `${what}: ${err.message}`, {
      hint: err.hint,
      httpStatus: err.httpStatus,
      retryAfterSeconds: err.retryAfterSeconds,
    });
  }
  return new TokenwardenError('INTERNAL', `${what}: ${err instanceof Error ? err.message : String(err)}`);
}
