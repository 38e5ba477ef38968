import { TokenwardenError } from '../errors.js';

export interface TestIssuerOptions {
  /** TCP port on 127.0.0.1; 0 (the default) takes a free one. Nothing else is ever bound. */
  port?: number;
  /** Access token (and ID token) lifetime in seconds, default 600. */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds, default 30 days; each rotation starts a new one. */
  refreshTokenTtl?: number;
  /**
   * Like Keycloak: token responses that carry a refresh token also carry `refresh_expires_in`, the
   * seconds it has left (refreshTokenTtl). Default false: oidc-provider and INDIGO IAM say nothing.
   */
  refreshExpiresIn?: boolean;
  /** Device code lifetime in seconds, default 600. */
  deviceCodeTtl?: number;
  /** `interval` (seconds) put into device authorization responses (RFC 8628 section 3.2), default 1. */
  deviceInterval?: number;
  /** When set, every device code is approved for this account as soon as it is issued. */
  autoApproveDevice?: string;
  /**
   * When set, authorization-code interactions (login + consent) complete at once for this account: a
   * plain GET of the authorization URL, following redirects, ends at the client's redirect_uri.
   */
  autoApproveInteractions?: string;
  /** Clients registered at start (oidc-provider ClientMetadata, snake_case). */
  clients?: Array<Record<string, unknown>>;
  /** Signing algorithm of access tokens and ID tokens, default ES256 (what scitokens-cpp verifies). */
  signingAlg?: 'ES256' | 'RS256';
}

/** TestIssuerOptions with every default applied and every value checked. */
export interface ResolvedTestIssuerOptions {
  port: number;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshExpiresIn: boolean;
  deviceCodeTtl: number;
  deviceInterval: number;
  autoApproveDevice: string | undefined;
  autoApproveInteractions: string | undefined;
  clients: Array<Record<string, unknown>>;
  signingAlg: 'ES256' | 'RS256';
}

const DAY = 24 * 60 * 60;

/** Applies the defaults and rejects bad values before anything is started. */
export function resolveTestIssuerOptions(options: TestIssuerOptions = {}): ResolvedTestIssuerOptions {
  const resolved: ResolvedTestIssuerOptions = {
    port: options.port ?? 0,
    accessTokenTtl: options.accessTokenTtl ?? 600,
    refreshTokenTtl: options.refreshTokenTtl ?? 30 * DAY,
    refreshExpiresIn: options.refreshExpiresIn ?? false,
    deviceCodeTtl: options.deviceCodeTtl ?? 600,
    deviceInterval: options.deviceInterval ?? 1,
    autoApproveDevice: options.autoApproveDevice,
    autoApproveInteractions: options.autoApproveInteractions,
    clients: options.clients ?? [],
    signingAlg: options.signingAlg ?? 'ES256',
  };
  checkInteger('port', resolved.port, 0, 65535);
  checkInteger('accessTokenTtl', resolved.accessTokenTtl, 1);
  checkInteger('refreshTokenTtl', resolved.refreshTokenTtl, 1);
  checkInteger('deviceCodeTtl', resolved.deviceCodeTtl, 1);
  checkInteger('deviceInterval', resolved.deviceInterval, 1);
  if (typeof resolved.refreshExpiresIn !== 'boolean') throw usage('refreshExpiresIn must be true or false');
  checkAccountId('autoApproveDevice', resolved.autoApproveDevice);
  checkAccountId('autoApproveInteractions', resolved.autoApproveInteractions);
  if (resolved.signingAlg !== 'ES256' && resolved.signingAlg !== 'RS256') {
    throw usage('signingAlg must be ES256 or RS256');
  }
  if (!Array.isArray(resolved.clients)) throw usage('clients must be an array of client metadata objects');
  return resolved;
}

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw usage(`${name} must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
}

function checkAccountId(name: string, value: string | undefined): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    throw usage(`${name} must be a non-empty account id`);
  }
}

function usage(message: string): TokenwardenError {
  return new TokenwardenError('USAGE', `test issuer: ${message}`);
}
