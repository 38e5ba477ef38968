import { TokenwardenError } from '../errors.js';
import { Secret } from '../secret.js';

/**
 * What the store keeps per account: everything needed to get new access tokens without a human. One
 * record is sealed as one unit (one file, one row), so the refresh token and the client it belongs to
 * can never be written half-way or out of step.
 */
export interface AccountRecord {
  /** Version of this record's shape; bumped (with a migration) when it changes incompatibly. */
  version: 1;
  /** The `[account NAME]` this record belongs to; bound into the encryption, so records cannot be swapped. */
  account: string;
  /** Issuer identifier URL (RFC 8414 `issuer`). */
  issuer: string;
  /** OAuth client id, registered dynamically or given with `setup --manual`. */
  clientId: string;
  /** Client secret, for confidential clients. */
  clientSecret?: Secret;
  /** RFC 7591 `token_endpoint_auth_method`, e.g. `client_secret_basic`, `none`. */
  tokenEndpointAuthMethod?: string;
  /** The current refresh token. */
  refreshToken?: Secret;
  /** The refresh token it replaced, kept until the new one worked once (docs/architecture.md invariant 1). */
  previousRefreshToken?: Secret;
  /** Scopes granted at setup. */
  scope: string[];
  /** Client-management credentials from dynamic registration (RFC 7591 section 3.2.1, RFC 7592). */
  registration?: { registrationClientUri?: string; registrationAccessToken?: Secret };
  /** How the issuer takes the wanted audience: WLCG `audience=` or RFC 8707 `resource=`. */
  audienceParam?: 'audience' | 'resource';
  /** ISO 8601 time the account was set up. */
  createdAt: string;
  /** ISO 8601 time of the last save. */
  updatedAt: string;
  /** Set after `invalid_grant`: the refresh token is dead and only a new login helps (invariant 5). */
  needsLogin?: { since: string; reason: string };
}

/**
 * The record as plain JSON, secrets revealed: only ever handed to the cipher, never logged or written
 * in clear. Absent optional fields are left out.
 */
export function recordToPayload(record: AccountRecord): Record<string, unknown> {
  const where = `the record of account ${record.account}`;
  requireValid(record, where);
  const payload: Record<string, unknown> = {
    version: record.version,
    account: record.account,
    issuer: record.issuer,
    clientId: record.clientId,
  };
  setSecret(payload, 'clientSecret', record.clientSecret, where);
  if (record.tokenEndpointAuthMethod !== undefined)
    payload.tokenEndpointAuthMethod = record.tokenEndpointAuthMethod;
  setSecret(payload, 'refreshToken', record.refreshToken, where);
  setSecret(payload, 'previousRefreshToken', record.previousRefreshToken, where);
  payload.scope = [...record.scope];
  if (record.registration !== undefined) {
    const registration: Record<string, unknown> = {};
    if (record.registration.registrationClientUri !== undefined) {
      registration.registrationClientUri = record.registration.registrationClientUri;
    }
    setSecret(registration, 'registrationAccessToken', record.registration.registrationAccessToken, where);
    payload.registration = registration;
  }
  if (record.audienceParam !== undefined) payload.audienceParam = record.audienceParam;
  payload.createdAt = record.createdAt;
  payload.updatedAt = record.updatedAt;
  if (record.needsLogin !== undefined) {
    payload.needsLogin = { since: record.needsLogin.since, reason: record.needsLogin.reason };
  }
  return payload;
}

/**
 * The record back from its decrypted JSON, checked field by field, secrets wrapped again. The payload
 * was authenticated, so a wrong shape means another version or a bug, never tampering: STORE_INVALID.
 */
export function recordFromPayload(payload: unknown, account: string): AccountRecord {
  const where = `the credential of account ${account}`;
  if (!isObject(payload)) throw invalid(where, 'is not a JSON object');
  if (payload.version !== 1) {
    throw invalid(
      where,
      `has record version ${JSON.stringify(payload.version)}, this tokenwarden reads version 1`,
    );
  }
  const record: AccountRecord = {
    version: 1,
    account: requireString(payload, 'account', where),
    issuer: requireString(payload, 'issuer', where),
    clientId: requireString(payload, 'clientId', where),
    scope: requireStringArray(payload, 'scope', where),
    createdAt: requireString(payload, 'createdAt', where),
    updatedAt: requireString(payload, 'updatedAt', where),
  };
  if (record.account !== account) throw invalid(where, 'names another account');
  const clientSecret = optionalString(payload, 'clientSecret', where);
  if (clientSecret !== undefined) record.clientSecret = new Secret(clientSecret);
  const authMethod = optionalString(payload, 'tokenEndpointAuthMethod', where);
  if (authMethod !== undefined) record.tokenEndpointAuthMethod = authMethod;
  const refreshToken = optionalString(payload, 'refreshToken', where);
  if (refreshToken !== undefined) record.refreshToken = new Secret(refreshToken);
  const previous = optionalString(payload, 'previousRefreshToken', where);
  if (previous !== undefined) record.previousRefreshToken = new Secret(previous);
  if (payload.registration !== undefined) {
    if (!isObject(payload.registration)) throw invalid(where, 'has a registration that is not an object');
    const registration: NonNullable<AccountRecord['registration']> = {};
    const uri = optionalString(payload.registration, 'registrationClientUri', where);
    if (uri !== undefined) registration.registrationClientUri = uri;
    const token = optionalString(payload.registration, 'registrationAccessToken', where);
    if (token !== undefined) registration.registrationAccessToken = new Secret(token);
    record.registration = registration;
  }
  if (payload.audienceParam !== undefined) {
    if (payload.audienceParam !== 'audience' && payload.audienceParam !== 'resource') {
      throw invalid(where, 'has an audienceParam that is neither "audience" nor "resource"');
    }
    record.audienceParam = payload.audienceParam;
  }
  if (payload.needsLogin !== undefined) {
    if (!isObject(payload.needsLogin)) throw invalid(where, 'has a needsLogin that is not an object');
    record.needsLogin = {
      since: requireString(payload.needsLogin, 'since', where),
      reason: requireString(payload.needsLogin, 'reason', where),
    };
  }
  return record;
}

/** Checks a record before it is sealed, so a bug (say, a plain string as a token) fails loudly. */
function requireValid(record: AccountRecord, where: string): void {
  const value = record as unknown;
  if (!isObject(value)) throw invalid('the record', 'is not an object');
  if (value.version !== 1) throw invalid(where, 'has a version other than 1');
  for (const key of ['account', 'issuer', 'clientId', 'createdAt', 'updatedAt'])
    requireString(value, key, where);
  requireStringArray(value, 'scope', where);
  optionalString(value, 'tokenEndpointAuthMethod', where);
  if (
    record.audienceParam !== undefined &&
    record.audienceParam !== 'audience' &&
    record.audienceParam !== 'resource'
  ) {
    throw invalid(where, 'has an audienceParam that is neither "audience" nor "resource"');
  }
  if (record.needsLogin !== undefined) {
    if (!isObject(record.needsLogin as unknown))
      throw invalid(where, 'has a needsLogin that is not an object');
    requireString(record.needsLogin as unknown as Record<string, unknown>, 'since', where);
    requireString(record.needsLogin as unknown as Record<string, unknown>, 'reason', where);
  }
}

function setSecret(
  target: Record<string, unknown>,
  key: string,
  value: Secret | undefined,
  where: string,
): void {
  if (value === undefined) return;
  // A plain string here would be a secret that prints in logs; refuse it rather than store it.
  if (!(value instanceof Secret)) throw invalid(where, `has a ${key} that is not a Secret`);
  target[key] = value.reveal();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(object: Record<string, unknown>, key: string, where: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value === '') throw invalid(where, `has no ${key} (a non-empty string)`);
  return value;
}

function optionalString(object: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(where, `has a ${key} that is not a string`);
  return value;
}

function requireStringArray(object: Record<string, unknown>, key: string, where: string): string[] {
  const value = object[key];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalid(where, `has no ${key} (an array of strings)`);
  }
  return [...value];
}

function invalid(where: string, problem: string): TokenwardenError {
  return new TokenwardenError('STORE_INVALID', `${where} ${problem}`);
}
