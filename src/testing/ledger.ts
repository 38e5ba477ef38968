import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

/**
 * What the issuer handed out, for tests that check a client never leaks or loses a secret: every token,
 * code and client secret issued, and when each refresh token was consumed by rotation.
 */
export interface SecretLedger {
  /** Every secret issued, oldest first (the most recent MAX_SECRETS). */
  issuedSecrets(): string[];
  /** When (epoch ms) a refresh token was redeemed, and so rotated away; undefined if it never was. */
  refreshTokenConsumedAt(refreshToken: string): number | undefined;
  /** The access token issued in the exchange that redeemed this refresh token. */
  accessTokenIssuedFor(refreshToken: string): string | undefined;
  /** Records a secret given to the issuer from outside (a client secret passed to addClient). */
  record(secret: unknown): void;
}

/** Bounds memory in long benchmark runs; tests issue a few hundred secrets at most. */
const MAX_SECRETS = 50_000;

const TOKEN_FIELDS = ['access_token', 'refresh_token', 'id_token'];
const REGISTRATION_FIELDS = ['client_secret', 'registration_access_token'];

export function createSecretLedger(provider: Provider): SecretLedger {
  const secrets = new Set<string>();
  const consumedAt = new Map<string, number>();
  const issuedFor = new Map<string, string>();

  function record(secret: unknown): void {
    if (typeof secret !== 'string' || secret.length === 0) return;
    secrets.delete(secret);
    secrets.add(secret);
    if (secrets.size > MAX_SECRETS) secrets.delete(secrets.values().next().value as string);
  }

  function recordFields(body: unknown, fields: readonly string[]): void {
    if (body === null || typeof body !== 'object') return;
    for (const field of fields) record((body as Record<string, unknown>)[field]);
  }

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const params = ctx.oidc.params ?? {};
    // Rotation consumed the presented refresh token (rotateRefreshToken is always on).
    if (params.grant_type === 'refresh_token' && typeof params.refresh_token === 'string') {
      consumedAt.set(params.refresh_token, Date.now());
      if (consumedAt.size > MAX_SECRETS) consumedAt.delete(consumedAt.keys().next().value as string);
      const issued = (ctx.body as { access_token?: unknown } | undefined)?.access_token;
      if (typeof issued === 'string') issuedFor.set(params.refresh_token, issued);
      if (issuedFor.size > MAX_SECRETS) issuedFor.delete(issuedFor.keys().next().value as string);
    }
    recordFields(ctx.body, TOKEN_FIELDS);
  });
  provider.on('device_authorization.success', (_ctx: KoaContextWithOIDC, body: unknown) => {
    recordFields(body, ['device_code']);
  });
  // An opaque artifact's value is its id (jti).
  provider.on('authorization_code.saved', (code: { jti?: string }) => record(code.jti));
  for (const event of ['registration_create.success', 'registration_update.success']) {
    provider.on(event, (ctx: KoaContextWithOIDC) => recordFields(ctx.body, REGISTRATION_FIELDS));
  }

  return {
    issuedSecrets: () => [...secrets],
    refreshTokenConsumedAt: (refreshToken) => consumedAt.get(refreshToken),
    accessTokenIssuedFor: (refreshToken) => issuedFor.get(refreshToken),
    record,
  };
}
