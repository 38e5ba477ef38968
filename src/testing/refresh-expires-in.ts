import type { Middleware } from 'oidc-provider';

/** What oidc-provider's refresh token model answers; only what this module reads. */
interface RefreshTokenEntity {
  readonly remainingTTL?: unknown;
}

/**
 * Makes token responses say when their refresh token expires, as Keycloak does: each response that
 * carries a `refresh_token` also carries `refresh_expires_in`, the seconds that token has left (its
 * `ttl.RefreshToken`, since every refresh rotates it). oidc-provider and INDIGO IAM say nothing of it.
 * The token itself is read from the grant's entities, never from the body (it is a secret).
 */
export function refreshExpiresInMiddleware(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (body === undefined || typeof body.refresh_token !== 'string') return;
    const token = ctx.oidc.entities.RefreshToken as RefreshTokenEntity | undefined;
    if (typeof token?.remainingTTL === 'number' && token.remainingTTL > 0) {
      body.refresh_expires_in = token.remainingTTL;
    }
  };
}
