import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

export interface TestIssuerStats {
  /** Successful token endpoint requests, by grant_type. */
  tokenRequests: Record<string, number>;
  /** Failed token endpoint requests, by OAuth error code (invalid_grant, invalid_scope, ...). */
  tokenErrors: Record<string, number>;
  /** Grants revoked: by refresh token reuse detection, or a refresh token revoked (RFC 7009). */
  revokedGrants: number;
  /** Refresh tokens presented again after rotation (each revokes its grant). */
  reuseDetected: number;
  /** Token endpoint requests answered by an injected fault instead of the provider. */
  faultedRequests: number;
}

export interface StatsCollector {
  snapshot(): TestIssuerStats;
  countFault(): void;
  countRevokedGrants(count: number): void;
}

/** oidc-provider's detail for a replayed, already rotated refresh token (actions/grants/refresh_token.js). */
const REUSE_DETAIL = 'refresh token already used';

/** Counts token endpoint outcomes from the provider's events. */
export function collectStats(provider: Provider): StatsCollector {
  const tokenRequests: Record<string, number> = {};
  const tokenErrors: Record<string, number> = {};
  let revokedGrants = 0;
  let reuseDetected = 0;
  let faultedRequests = 0;

  const bump = (counts: Record<string, number>, key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    bump(tokenRequests, String(ctx.oidc.params?.grant_type));
  });
  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: { error?: string; error_detail?: string }) => {
    bump(tokenErrors, err.error ?? 'unknown');
    if (err.error_detail === REUSE_DETAIL) reuseDetected++;
  });
  provider.on('server_error', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc?.route === 'token') bump(tokenErrors, 'server_error');
  });
  provider.on('grant.revoked', () => {
    revokedGrants++;
  });

  return {
    snapshot: () => ({
      tokenRequests: { ...tokenRequests },
      tokenErrors: { ...tokenErrors },
      revokedGrants,
      reuseDetected,
      faultedRequests,
    }),
    countFault: () => {
      faultedRequests++;
    },
    countRevokedGrants: (count) => {
      revokedGrants += count;
    },
  };
}
