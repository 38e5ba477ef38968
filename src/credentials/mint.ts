import type { TokenConfig } from '../config/index.js';
import type { TokenRequest, TokenResponse } from '../oidc/index.js';
import type { AccountRecord, CredentialStore } from '../store/index.js';
import { loadOidc } from './load-oidc.js';
import { refreshWithRotation } from './refresh.js';
import { combineRefreshTokenNews } from './refresh-expiry.js';
import type { Session } from './session.js';

export interface MintOptions {
  /** Where a rotated refresh token is saved. */
  store: CredentialStore;
  /** The config file, named in the commands that hints print. */
  configFile: string;
  clock?: () => number;
}

/**
 * One access token for `token` from an open session, by the account's grant: client credentials
 * (RFC 6749 section 4.4) for a client-credentials account; for a refresh-token account, a refresh
 * (section 6, rotation saved first, see refreshWithRotation) or, with `grant = exchange`, a token
 * exchange (RFC 8693) of the session's one full-scope access token.
 */
export async function mintToken(
  session: Session,
  token: Pick<TokenConfig, 'scope' | 'audience' | 'grant'>,
  options: MintOptions,
): Promise<TokenResponse> {
  const { account, client, ctx } = session;
  const request = { scope: token.scope, audience: token.audience, audienceParam: account.audienceParam };
  const { clientCredentialsGrant, tokenExchangeGrant } = await loadOidc();
  if (account.kind === 'client_credentials') return clientCredentialsGrant(client, request, ctx);
  if (token.grant === 'exchange') {
    session.subjectToken ??= (await refreshAndPersist(session, {}, options)).accessToken;
    return tokenExchangeGrant(client, session.subjectToken, request, ctx);
  }
  return refreshAndPersist(session, request, options);
}

async function refreshAndPersist(
  session: Session,
  request: TokenRequest,
  options: MintOptions,
): Promise<TokenResponse> {
  const { response, record, refreshTokenNews } = await refreshWithRotation({
    store: options.store,
    record: session.record as AccountRecord,
    client: session.client,
    request,
    ctx: session.ctx,
    login: { command: 'setup', account: session.account.name, config: options.configFile },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  session.record = record;
  session.refreshTokenNews = combineRefreshTokenNews(session.refreshTokenNews, refreshTokenNews);
  return response;
}
