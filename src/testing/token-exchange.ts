import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import type {
  KoaContextWithOIDC,
  Provider,
  errors as ProviderErrors,
  ResourceServerInfo,
} from 'oidc-provider';
import { splitSpaced } from './wlcg.js';

/** OAuth 2.0 Token Exchange (RFC 8693), which oidc-provider leaves to the host. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The `gty` of exchanged access tokens (oidc-provider's record of the grant that minted a token). */
export const TOKEN_EXCHANGE_GTY = 'token_exchange';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** Request parameters of section 2.1; `audience` and `resource` may repeat. */
const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'scope',
  'audience',
  'resource',
];
const REPEATABLE = ['audience', 'resource'];

/**
 * The subject's `wlcg.groups`, by exchanged access token: the JWT customizer copies them into the new
 * token (a subject that was a client has none). oidc-provider recomputes a token's `extra` claims when
 * it formats it, so they cannot travel there.
 */
const subjectGroups = new WeakMap<object, unknown[]>();

export function subjectGroupsOf(token: object): unknown[] | undefined {
  return subjectGroups.get(token);
}

export interface TokenExchangeSetup {
  provider: Provider;
  errors: typeof ProviderErrors;
  /** The issuer's own public keys: only its access tokens are exchanged. */
  publicJwks: JSONWebKeySet;
  signingAlg: string;
  /** The resource server every access token is minted behind. */
  resourceServer: (ctx: KoaContextWithOIDC) => { identifier: string; info: ResourceServerInfo };
}

/**
 * Registers the token exchange grant: an authenticated client trades an access token of this issuer
 * (the subject token) for a new JWT access token of the same subject, with the same or fewer scopes and
 * the audience it asks for (audience=/resource=, see audience.ts). Impersonation only: an actor token
 * (delegation) is refused, and no refresh token is issued.
 */
export function registerTokenExchange(setup: TokenExchangeSetup): void {
  const { provider, errors } = setup;
  const keys = createLocalJWKSet(setup.publicJwks);

  async function verifySubjectToken(token: string): Promise<Record<string, unknown>> {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: provider.issuer,
        typ: 'at+jwt',
        algorithms: [setup.signingAlg],
      });
      return payload;
    } catch {
      // Section 2.2.2: an invalid subject token is an invalid_request.
      throw new errors.InvalidRequest('subject_token is not a valid, unexpired access token of this issuer');
    }
  }

  async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const { client } = ctx.oidc;
    const params = ctx.oidc.params ?? {};
    if (!client || client.clientAuthMethod === 'none') {
      throw new errors.InvalidClient('token exchange requires client authentication');
    }
    const subjectToken = params.subject_token;
    const subjectTokenType = params.subject_token_type;
    if (typeof subjectToken !== 'string' || typeof subjectTokenType !== 'string') {
      throw new errors.InvalidRequest('missing required parameter(s) (subject_token, subject_token_type)');
    }
    if (subjectTokenType !== ACCESS_TOKEN_TYPE && subjectTokenType !== JWT_TOKEN_TYPE) {
      throw new errors.InvalidRequest('unsupported subject_token_type');
    }
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('unsupported requested_token_type');
    }
    if (params.actor_token !== undefined) {
      throw new errors.InvalidRequest('actor_token (delegation) is not supported');
    }

    const subject = await verifySubjectToken(subjectToken);
    const granted = splitSpaced(typeof subject.scope === 'string' ? subject.scope : undefined);
    const requested = typeof params.scope === 'string' ? [...new Set(splitSpaced(params.scope))] : granted;
    const missing = requested.filter((s) => !granted.includes(s));
    if (missing.length > 0) {
      throw new errors.InvalidScope('requested scope exceeds the subject token scope', missing.join(' '));
    }

    const at = new provider.AccessToken({
      accountId: typeof subject.sub === 'string' ? subject.sub : undefined,
      client,
      gty: TOKEN_EXCHANGE_GTY,
      scope: requested.join(' '),
    });
    const groups = subject['wlcg.groups'];
    if (Array.isArray(groups)) subjectGroups.set(at, groups);
    const { identifier, info } = setup.resourceServer(ctx);
    at.resourceServer = new provider.ResourceServer(identifier, info);
    const accessToken = await at.save();

    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: at.tokenType,
      expires_in: at.expiration,
      ...(at.scope ? { scope: at.scope } : {}),
    };
  }

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT_TYPE, tokenExchange, PARAMETERS, REPEATABLE);
}
