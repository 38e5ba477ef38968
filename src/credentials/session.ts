import type { AccountConfig, ClientCredentialsAccountConfig } from '../config/index.js';
import type { OAuthClient, RequestContext } from '../oidc/index.js';
import type { Secret } from '../secret.js';
import type { AccountRecord, CredentialStore } from '../store/index.js';
import { asError, credentialError, needsLoginError, noCredentialYet } from './account-errors.js';
import type { ClientCache } from './client-cache.js';
import type { RefreshTokenNews } from './refresh-expiry.js';

/** What one account needs to mint tokens: a client, and for refresh accounts the decrypted record. */
export interface Session {
  account: AccountConfig;
  client: OAuthClient;
  ctx: RequestContext;
  /** The record just read (refresh accounts); replaced by the rotated one after each refresh. */
  record?: AccountRecord;
  /** For `grant = exchange`: one full-scope access token per session, exchanged for each token. */
  subjectToken?: Secret;
  /** What this session's refresh grants said of the refresh token's expiry, all of them as one. */
  refreshTokenNews?: RefreshTokenNews;
}

export interface SessionOptions {
  /** Holds the refresh-token accounts' credentials. */
  store: CredentialStore;
  /** Where clients come from (discovery once per issuer). */
  clients: ClientCache;
  /** Client secret of a client-credentials account (inline or from `client_secret_file`). */
  clientSecret: (account: ClientCredentialsAccountConfig) => Promise<Secret>;
  /** The config file, named in the commands that hints print. */
  configFile: string;
}

/**
 * Opens a session for an account whose lock the caller holds: for a refresh-token account, reads and
 * decrypts its record and builds the client the record names; for a client-credentials account, builds
 * its client from the config section. A record marked needs-login is refused before any request: the
 * issuer is never sent a refresh token it has refused (docs/architecture.md invariant 5).
 */
export async function openSession(
  account: AccountConfig,
  ctx: RequestContext,
  options: SessionOptions,
): Promise<Session> {
  if (account.kind === 'client_credentials') {
    const clientSecret = await options.clientSecret(account);
    const client = await options.clients.client(
      {
        issuer: account.issuer ?? '',
        clientId: account.clientId,
        clientSecret,
        authMethod: 'client_secret_basic',
        tokenEndpoint: account.tokenRequestUrl,
      },
      ctx,
    );
    return { account, client, ctx };
  }
  let record: AccountRecord | undefined;
  try {
    record = await options.store.load(account.name);
  } catch (err) {
    throw credentialError(account, asError(err), options.configFile);
  }
  if (record === undefined) throw noCredentialYet(account, options.configFile);
  if (record.needsLogin) throw needsLoginError(account, record, options.configFile);
  const client = await options.clients.forRecord(record, ctx, account.issuer ?? record.issuer);
  return { account, client, ctx, record };
}
