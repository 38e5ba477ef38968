import type {
  ClientInstance,
  IssuedToken,
  JwtStructuredToken,
  KoaContextWithOIDC,
  ResourceServerInfo,
} from 'oidc-provider';
import { groupsOf } from './accounts.js';
import { requestedAudience } from './audience.js';
import { subjectGroupsOf, TOKEN_EXCHANGE_GTY } from './token-exchange.js';
import {
  audienceClaim,
  isStaticScope,
  isSupportedScope,
  RESOURCE_SERVER,
  rootScopeOf,
  STATIC_SCOPES,
  splitSpaced,
  WLCG_VERSION,
} from './wlcg.js';

/**
 * Access tokens as WLCG IAM mints them: JWTs (WLCG Common JWT Profile) signed with the issuer's key,
 * behind one resource server whose default audience is "any".
 */

export interface AccessTokenSettings {
  accessTokenTtl: number;
  signingAlg: string;
}

/**
 * oidc-provider's `getResourceServerInfo`. Its `scope` is what a token for that resource server may
 * carry: the static scopes plus the path-suffixed WLCG scopes in play in this request (asked for now,
 * or held by the code or refresh token being redeemed) that the client may ask for. The grant then
 * narrows that to what the user consented to.
 */
export function resourceServerInfo(
  ctx: KoaContextWithOIDC | undefined,
  client: ClientInstance | undefined,
  settings: AccessTokenSettings,
): ResourceServerInfo {
  const scopes = new Set(STATIC_SCOPES);
  for (const scope of scopesInPlay(ctx)) {
    if (!isStaticScope(scope) && isSupportedScope(scope) && clientMayRequest(client, scope))
      scopes.add(scope);
  }
  return {
    scope: [...scopes].join(' '),
    audience: RESOURCE_SERVER,
    accessTokenFormat: 'jwt',
    accessTokenTTL: settings.accessTokenTtl,
    jwt: { sign: { alg: settings.signingAlg } },
  };
}

const SCOPED_ENTITIES = ['RefreshToken', 'DeviceCode', 'AuthorizationCode'];

function scopesInPlay(ctx: KoaContextWithOIDC | undefined): string[] {
  if (!ctx?.oidc) return [];
  const found = splitSpaced(typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope : undefined);
  for (const name of SCOPED_ENTITIES) {
    const scope = (ctx.oidc.entities[name] as { scope?: unknown } | undefined)?.scope;
    if (typeof scope === 'string') found.push(...splitSpaced(scope));
  }
  return found;
}

/** A client registered with a `scope` may ask for sub-paths of the storage scopes it has. */
function clientMayRequest(client: ClientInstance | undefined, scope: string): boolean {
  if (!client?.scope) return true;
  const root = rootScopeOf(scope);
  return root !== undefined && client.scope.split(' ').includes(root);
}

/**
 * oidc-provider's `formats.customizers.jwt`: adds the WLCG profile claims (`wlcg.ver`, `wlcg.groups`
 * of the user, `nbf`) and sets `aud` from the audience the token request asked for (audience.ts).
 */
export function customizeJwtAccessToken(
  ctx: KoaContextWithOIDC | undefined,
  token: IssuedToken,
  jwt: JwtStructuredToken,
): void {
  const { payload } = jwt;
  payload.nbf = payload.iat;
  payload['wlcg.ver'] = WLCG_VERSION;
  const groups =
    token.gty === TOKEN_EXCHANGE_GTY
      ? subjectGroupsOf(token)
      : token.accountId
        ? groupsOf(token.accountId)
        : undefined; // a client (client credentials) has no groups
  if (groups) payload['wlcg.groups'] = groups;
  payload.aud = audienceClaim(requestedAudience(ctx));
}
