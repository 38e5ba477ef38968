import { setTimeout as sleep } from 'node:timers/promises';
import { SAVE_RETRY_DELAYS_MS } from '../../credentials/index.js';
import { OAuthError, TokenwardenError } from '../../errors.js';
import { reserveAtomicWrite, type WriteReservation, writeFileAtomic } from '../../files/index.js';
import {
  clientFromMetadata,
  createClient,
  discoverIssuer,
  type IssuerMetadata,
  type OAuthClient,
  type RequestContext,
  refreshTokenGrant,
} from '../../oidc/index.js';
import { Secret } from '../../secret.js';
import { decodeToken } from '../../tokens/index.js';
import { readClientSecretFile } from '../client-secret.js';
import type { OAuth2ProviderConfig } from '../config/types.js';
import { CRED_FILE_MODE, credFilePath, readCredFile } from '../cred-files.js';
import { identityOf, lockTop } from '../top-lock.js';
import { DEFAULT_CLIENT_TOKEN_LIFETIME } from './client.js';
import type { CredentialProvider, CredentialRef, ProviderContext, RenewOutcome } from './types.js';

/**
 * The OAuth2 provider: refreshes the refresh token a user's login left in `<user>/<svc>.top` (JSON
 * `{"refresh_token","scopes","audience",...}`) at the provider's token endpoint, and writes `.use` as
 * the token response minus `refresh_token`. A rotated refresh token is written into `.top` (its other
 * keys kept) before `.use`, and the space and permission for both writes are secured before the request,
 * so no grant is spent on a write that then fails (docs/architecture.md invariants 1 and 8).
 *
 * The client id comes from `.meta` (`client_id`, as the web app wrote it) or `<SVC>_CLIENT_ID`; the
 * client secret only ever from `<SVC>_CLIENT_SECRET_FILE`, read at each refresh, never from `.meta`: a
 * `.meta` that still holds one (written by the Python web app) is rewritten without it. The token
 * endpoint: `<SVC>_TOKEN_URL`, else `.meta`'s `token_url`, else discovery at `<SVC>_ISSUER`.
 *
 * The Python credmon (requests_oauthlib `OAuth2Session.refresh_token`) sends the client id and secret
 * in the form body (client_secret_post) and no scope; we authenticate the same way and also send the
 * `.top`'s scopes (RFC 6749 section 6 lets a refresh ask for the scopes granted) and its audience as
 * RFC 8707 `resource`, as the web app asked for it at login.
 *
 * Two processes on one credential (a second credmon, the web app writing a new login): the refresh
 * holds flock(2) on the `.top` it read, and re-checks after taking it, and again before writing, that the
 * path still names that file; a `.top` replaced meanwhile is a newer login and is never overwritten.
 */

/** Longest wait for another holder of a `.top`'s lock before the renewal fails (and is retried). */
/** Room reserved for each of `.top` and `.use` before the refresh. */
const RESERVE_BYTES = 64 * 1024;

interface TopFile {
  record: Record<string, unknown>;
  refreshToken: Secret;
  identity: string;
}

interface MetaFile {
  clientId?: string | undefined;
  tokenUrl?: string | undefined;
  useRefreshToken: boolean;
  hasClientSecret: boolean;
  record: Record<string, unknown>;
}

export interface OAuth2ProviderOptions {
  /** Seconds before one HTTP request is abandoned (default 30). */
  timeoutSeconds?: number;
  /** Waits between retries of a failed save (tests). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Every write of `.top` or `.use` goes through it: `write` does the write (tests: a disk that fails
   * by throwing instead of calling it). By default it just writes.
   */
  save?: (path: string, write: () => Promise<void>) => Promise<void>;
}

/**
 * A refresh whose rotated `.top` could not be saved: the issuer has already spent the refresh token on
 * disk, so the next attempt saves this (never refreshes with the spent one) while `.top` is still the
 * file the rotation replaced.
 */
interface Unsaved {
  /** Identity of the `.top` the rotation replaces. */
  identity: string;
  top: string;
  use: string;
  outcome: RenewOutcome;
  /** Lets the held tokens go from the log's secret list. */
  forget: () => void;
}

export function createOAuth2Provider(
  config: OAuth2ProviderConfig,
  options: OAuth2ProviderOptions = {},
): CredentialProvider {
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  const wait = options.sleep ?? ((ms: number) => sleep(ms));
  const save = options.save ?? ((_path: string, write: () => Promise<void>) => write());
  /** Whether the "no expires_in" warning was given (once per provider). */
  let warnedNoExpiry = false;
  /** Rotated refresh tokens not yet durable, by `.top` path; only in memory. */
  const unsaved = new Map<string, Unsaved>();
  let metadata: Promise<IssuerMetadata> | undefined;
  /** `.meta` files already reported for their client secret, by path and identity. */
  const scrubbed = new Set<string>();

  /** The client secret, read at each refresh as the CredD and the web app read it. */
  const readSecret = async (): Promise<Secret | undefined> =>
    config.clientSecretFile === undefined
      ? undefined
      : readClientSecretFile(config.clientSecretFile, `${config.name}_CLIENT_SECRET_FILE`);

  const clientFor = async (
    meta: MetaFile | undefined,
    secret: Secret | undefined,
    ctx: RequestContext,
  ): Promise<OAuthClient> => {
    const clientId = meta?.clientId ?? config.clientId;
    const authMethod = secret === undefined ? 'none' : 'client_secret_post';
    const tokenUrl = config.tokenUrl ?? meta?.tokenUrl;
    if (tokenUrl !== undefined) {
      return createClient(
        { issuer: '', clientId, clientSecret: secret, authMethod, tokenEndpoint: tokenUrl },
        ctx,
      );
    }
    if (config.issuer === undefined) {
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `provider ${config.name}: no token endpoint (set ${config.name}_TOKEN_URL or ${config.name}_ISSUER)`,
      );
    }
    const issuer = config.issuer;
    metadata ??= discoverIssuer(issuer, ctx).catch((err: unknown) => {
      metadata = undefined;
      throw err;
    });
    return clientFromMetadata(await metadata, { issuer, clientId, clientSecret: secret, authMethod }, ctx);
  };

  /** Reads `.meta`; a client secret it still holds is cut from the log until `hide`'s caller lets go. */
  const readMeta = async (
    ref: CredentialRef,
    ctx: ProviderContext,
    hide: (value: string) => void,
  ): Promise<MetaFile | undefined> => {
    const text = await readCredFile(ctx.credDir, ref.user, ref.cred.name, 'meta');
    if (text === undefined) return undefined;
    const record = parseObject(text, credFilePath(ctx.credDir, ref.user, ref.cred.name, 'meta'));
    const hasClientSecret = 'client_secret' in record;
    if (hasClientSecret && typeof record.client_secret === 'string' && record.client_secret !== '') {
      hide(record.client_secret);
    }
    return {
      clientId:
        typeof record.client_id === 'string' && record.client_id !== '' ? record.client_id : undefined,
      tokenUrl:
        typeof record.token_url === 'string' && record.token_url !== '' ? record.token_url : undefined,
      useRefreshToken: record.use_refresh_token !== false,
      hasClientSecret,
      record,
    };
  };

  /** Rewrites a `.meta` that holds a client secret without it (once per file). */
  const scrubMeta = async (ref: CredentialRef, meta: MetaFile, ctx: ProviderContext): Promise<void> => {
    if (!meta.hasClientSecret) return;
    const path = credFilePath(ctx.credDir, ref.user, ref.cred.name, 'meta');
    const { client_secret: _dropped, ...rest } = meta.record;
    try {
      await writeFileAtomic(path, JSON.stringify(rest), { mode: CRED_FILE_MODE });
    } catch (err) {
      if (!scrubbed.has(path)) {
        scrubbed.add(path);
        ctx.log.emit({
          type: 'credmon.warning',
          level: 'warning',
          user: ref.user,
          cred: ref.cred.name,
          message: `${path} holds a client secret and could not be rewritten without it: ${(err as Error).message}`,
        });
      }
      return;
    }
    ctx.log.emit({
      type: 'credmon.warning',
      level: 'warning',
      user: ref.user,
      cred: ref.cred.name,
      message: `${path} held a client secret (written by another web app); rewritten without it: the secret is read from ${config.name}_CLIENT_SECRET_FILE`,
    });
  };

  /** Saves a held rotation: `.top` first (the lock on it is held, and it is still the file replaced). */
  const saveUnsaved = async (topPath: string, usePath: string, pending: Unsaved): Promise<RenewOutcome> => {
    await save(topPath, () => writeFileAtomic(topPath, pending.top, { mode: CRED_FILE_MODE }));
    pending.forget();
    // .top is durable now; a .use that fails here is renewed from it next time.
    await save(usePath, () => writeFileAtomic(usePath, pending.use, { mode: CRED_FILE_MODE }));
    return pending.outcome;
  };

  const lost = (ref: CredentialRef, topPath: string, err: unknown): TokenwardenError =>
    new TokenwardenError(
      'CREDENTIAL_LOST',
      `${ref.user}/${ref.cred.name}: the issuer rotated the refresh token, but ${topPath} could not be saved (${err instanceof Error ? err.message : String(err)}); the refresh token on disk is spent, the new one is held in memory and is saved at the next attempt (no refresh is sent meanwhile)`,
      {
        cause: err,
        hint: 'fix the disk (space, permissions) so the credmon can write the file; if the credmon stops before it is saved, the user must log in again',
      },
    );

  return {
    kind: 'oauth2',
    name: config.name,

    async prepare() {
      await readSecret();
    },

    async dueAt(ref, ctx) {
      const forget: Array<() => void> = [];
      try {
        const meta = await readMeta(ref, ctx, (value) => forget.push(ctx.log.addSecret(value)));
        if (meta !== undefined) await scrubMeta(ref, meta, ctx);
        return meta?.useRefreshToken === false ? Number.POSITIVE_INFINITY : undefined;
      } finally {
        for (const f of forget) f();
      }
    },

    async renew(ref, ctx): Promise<RenewOutcome> {
      const topPath = credFilePath(ctx.credDir, ref.user, ref.cred.name, 'top');
      const usePath = credFilePath(ctx.credDir, ref.user, ref.cred.name, 'use');
      const held = await lockTop(topPath, ctx.signal);
      const reservations: WriteReservation[] = [];
      // This renewal's tokens are cut from the log while it runs, and let go when it ends.
      const forget: Array<() => void> = [];
      const hide = (value: string | Secret) => forget.push(ctx.log.addSecret(value));
      try {
        const pending = unsaved.get(topPath);
        if (pending !== undefined) {
          unsaved.delete(topPath);
          if (pending.identity === held.identity) {
            try {
              return await saveUnsaved(topPath, usePath, pending);
            } catch (err) {
              unsaved.set(topPath, pending);
              throw lost(ref, topPath, err);
            }
          }
          // .top was replaced since (a new login): it is newer than the rotation held; that is dropped.
          pending.forget();
        }
        const top = parseTop(held.text, topPath, held.identity);
        hide(top.refreshToken);
        const meta = await readMeta(ref, ctx, hide);
        if (meta !== undefined) await scrubMeta(ref, meta, ctx);
        if (meta?.useRefreshToken === false) {
          throw new TokenwardenError(
            'CONFIG_INVALID',
            `${ref.user}/${ref.cred.name}: its .meta says use_refresh_token false; it is not refreshed`,
          );
        }
        const secret = await readSecret();
        if (secret !== undefined) hide(secret);
        // Space and permission for both writes, before the grant is spent.
        reservations.push(await reserveAtomicWrite(topPath, RESERVE_BYTES, { mode: CRED_FILE_MODE }));
        reservations.push(await reserveAtomicWrite(usePath, RESERVE_BYTES, { mode: CRED_FILE_MODE }));
        const bare = config.tokenUrl !== undefined || config.issuer === undefined;
        const rctx: RequestContext = {
          timeoutSeconds,
          signal: ctx.signal,
          fetch: bare ? withoutIdToken(ctx.fetch) : ctx.fetch,
        };
        const client = await clientFor(meta, secret, rctx);
        let response: Awaited<ReturnType<typeof refreshTokenGrant>>;
        try {
          response = await refreshTokenGrant(
            client,
            top.refreshToken,
            {
              scope: listOf(top.record.scopes),
              audience: listOf(top.record.audience),
              audienceParam: 'resource',
            },
            rctx,
          );
        } catch (err) {
          if (err instanceof OAuthError && err.error === 'invalid_grant') {
            throw new TokenwardenError(
              'NEEDS_LOGIN',
              `${ref.user}/${ref.cred.name}: the issuer refused the refresh token (${err.message}); the user must log in again`,
              {
                cause: err,
                hint: 'the user submits a job needing this service again (condor_submit prints the login URL); .top is kept',
              },
            );
          }
          throw err;
        }
        hide(response.accessToken);
        const [topSlot, useSlot] = reservations as [WriteReservation, WriteReservation];
        const use: Record<string, unknown> = {
          access_token: response.accessToken.reveal(),
          ...response.extra,
        };
        const nowSeconds = Math.floor(ctx.clock() / 1000);
        const expiresIn = response.expiresIn ?? Number(response.extra.expires_in);
        let expiresAt =
          Number.isFinite(expiresIn) && expiresIn > 0
            ? nowSeconds + expiresIn
            : jwtExpiry(response.accessToken.reveal());
        if (expiresAt === undefined) {
          // Opaque and no expires_in: assume the Python default, written into .use so a rescan agrees.
          expiresAt = nowSeconds + DEFAULT_CLIENT_TOKEN_LIFETIME;
          use.expires_in = DEFAULT_CLIENT_TOKEN_LIFETIME;
          if (!warnedNoExpiry) {
            warnedNoExpiry = true;
            ctx.log.emit({
              type: 'credmon.warning',
              level: 'warning',
              user: ref.user,
              cred: ref.cred.name,
              message: `provider ${config.name}: the issuer's access token is opaque and its response has no expires_in; assumed to last ${DEFAULT_CLIENT_TOKEN_LIFETIME} s (said once per provider)`,
            });
          }
        }
        const outcome: RenewOutcome = { issuedAt: nowSeconds, expiresAt };
        if (response.refreshToken !== undefined) {
          hide(response.refreshToken);
          const rotated = JSON.stringify({ ...top.record, refresh_token: response.refreshToken.reveal() });
          try {
            await saveWithRetries(
              topSlot,
              rotated,
              async () => {
                // A new login replaced .top while we refreshed: it is newer than our result; keep it.
                if ((await identityOf(topPath)) !== held.identity) {
                  throw new TokenwardenError(
                    'RENEW_FAILED',
                    `${topPath} was replaced while it was being refreshed (a new login); the newer one is kept`,
                  );
                }
              },
              wait,
              save,
            );
          } catch (err) {
            if (err instanceof TokenwardenError && err.code === 'RENEW_FAILED') throw err;
            // The token on disk is spent: hold the new one (and its access token) until it is saved.
            const forgetRefresh = ctx.log.addSecret(response.refreshToken);
            const forgetAccess = ctx.log.addSecret(response.accessToken);
            unsaved.set(topPath, {
              identity: held.identity,
              top: rotated,
              use: JSON.stringify(use),
              outcome,
              forget: () => {
                forgetRefresh();
                forgetAccess();
              },
            });
            throw lost(ref, topPath, err);
          }
        } else {
          await topSlot.release();
        }
        await saveWithRetries(useSlot, JSON.stringify(use), async () => undefined, wait, save);
        return outcome;
      } finally {
        for (const r of reservations) await r.release().catch(() => undefined);
        await held.release();
        for (const f of forget) f();
      }
    },
  };
}

/**
 * A fetch that drops `id_token` from a token response. With only a token endpoint (no discovery) the
 * issuer's identifier and signing algorithms are unknown, so an ID token cannot be validated, and
 * openid-client would refuse the whole refresh for it (an ES256 ID token against the RS256 default; an
 * issuer whose identifier is not the endpoint's origin). The credmon never uses it, and `.use` holds
 * the access token; the Python credmon does not look at it either.
 */
function withoutIdToken(base: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (!(response.headers.get('content-type') ?? '').includes('json')) return response;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    if (typeof body === 'object' && body !== null && 'id_token' in body)
      delete (body as Record<string, unknown>).id_token;
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(JSON.stringify(body), {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

/** The `exp` of an access token that is a JWT saying one; undefined for an opaque token. */
function jwtExpiry(token: string): number | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    const exp = decodeToken(token).claims.exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** `"a,b"` (as the CredD writes scopes and audience) or a JSON array → the list; blanks dropped. */
function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  if (typeof value !== 'string') return [];
  return value
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseObject(text: string, path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TokenwardenError('TOKEN_INVALID', `${path} is not JSON`, {
      hint: 'the user logs in again, or the CredD stores a new credential',
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokenwardenError('TOKEN_INVALID', `${path} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function parseTop(text: string, path: string, identity: string): TopFile {
  const record = parseObject(text, path);
  const value = record.refresh_token;
  if (typeof value !== 'string' || value === '') {
    throw new TokenwardenError('TOKEN_INVALID', `${path} holds no refresh_token`, {
      hint: 'the user logs in again (condor_submit prints the URL)',
    });
  }
  return { record, refreshToken: new Secret(value), identity };
}

async function saveWithRetries(
  slot: WriteReservation,
  data: string,
  check: () => Promise<void>,
  wait: (ms: number) => Promise<void>,
  save: (path: string, write: () => Promise<void>) => Promise<void>,
): Promise<void> {
  await check();
  try {
    await save(slot.path, () => slot.write(data));
    return;
  } catch (first) {
    // The reservation is spent by a failed write; each retry is a fresh atomic write.
    let last: unknown = first;
    for (const delay of SAVE_RETRY_DELAYS_MS) {
      await wait(delay);
      try {
        await check();
        await save(slot.path, () => writeFileAtomic(slot.path, data, { mode: CRED_FILE_MODE }));
        return;
      } catch (err) {
        if (err instanceof TokenwardenError && err.code === 'RENEW_FAILED') throw err;
        last = err;
      }
    }
    throw last;
  }
}
