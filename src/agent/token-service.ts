import { ClientCache, expiryOf, refreshWithRotation } from '../credentials/index.js';
import { TokenwardenError } from '../errors.js';
import type { AudienceParam, RequestContext } from '../oidc/index.js';
import { type DecodedToken, decodeToken, nowSeconds } from '../tokens/index.js';
import { type LoadedAccount, loginRemedy } from './accounts.js';
import { type CachedToken, TokenCache } from './cache.js';

export interface TokenQuery {
  account: string;
  audience: string[];
  scope: string[];
  /** Seconds the token must still be valid. */
  minValid: number;
  force: boolean;
}

/**
 * Serves access tokens from loaded accounts: from the cache when it can, otherwise one refresh per
 * (account, audience, scope) at a time (concurrent identical requests share it) and one refresh per
 * account at a time, under the account's cross-process lock, so `renew` and the agent never refresh the
 * same credential at once. The record is re-read under the lock: another process may have rotated it,
 * or a new `setup` replaced it (with a new client), so the client is the one of the record just read.
 */
export class TokenService {
  readonly cache = new TokenCache();
  readonly clients: ClientCache;
  readonly #inflight = new Map<string, Promise<CachedToken>>();
  readonly #clock: () => number;
  readonly #timeoutSeconds: number;
  readonly #fetch: typeof fetch | undefined;
  /** Counts refresh grants sent, for tests and status. */
  refreshes = 0;

  constructor(options: { clock: () => number; timeoutSeconds: number; fetch?: typeof fetch | undefined }) {
    this.#clock = options.clock;
    this.#timeoutSeconds = options.timeoutSeconds;
    this.#fetch = options.fetch;
    this.clients = new ClientCache();
  }

  async get(account: LoadedAccount, query: TokenQuery): Promise<CachedToken> {
    const now = nowSeconds(this.#clock);
    this.cache.sweep(now);
    const key = TokenCache.key(account.name, query.audience, query.scope);
    if (!query.force) {
      const hit = this.cache.get(key, query.minValid, now);
      if (hit) return hit;
    }
    const running = this.#inflight.get(key);
    if (running) {
      const shared = await running;
      if (shared.expiresAt - nowSeconds(this.#clock) > query.minValid) return shared;
    }
    const work = this.#refresh(account, query, key).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, work);
    return work;
  }

  async #refresh(account: LoadedAccount, query: TokenQuery, key: string): Promise<CachedToken> {
    return account.store.withLock(
      account.name,
      async () => {
        const record = await account.store.load(account.name);
        if (record === undefined) {
          throw new TokenwardenError('STORE_NOT_FOUND', `the credential of account ${account.name} is gone`, {
            remedy: loginRemedy(account.name, account.configPath),
          });
        }
        const ctx: RequestContext = { timeoutSeconds: this.#timeoutSeconds, fetch: this.#fetch };
        const client = await this.clients.forRecord(record, ctx);
        this.refreshes++;
        const { response } = await refreshWithRotation({
          store: account.store,
          record,
          client,
          request: {
            scope: query.scope,
            audience: query.audience,
            audienceParam: (record.audienceParam ?? 'audience') as AudienceParam,
          },
          ctx,
          login: loginRemedy(account.name, account.configPath, record.issuer),
          clock: this.#clock,
        });
        const now = nowSeconds(this.#clock);
        let audience = query.audience;
        let scope = response.scope ? response.scope.split(' ').filter(Boolean) : query.scope;
        let decoded: DecodedToken | undefined;
        try {
          decoded = decodeToken(response.accessToken.reveal());
          audience = decoded.audience;
          if (decoded.scope.length > 0) scope = decoded.scope;
        } catch {
          // Opaque access tokens are served as they are, timed by expires_in.
        }
        const exp = expiryOf(response, decoded?.claims, now);
        const cached: CachedToken = {
          token: response.accessToken,
          expiresAt: exp ?? now + 300,
          issuer: record.issuer,
          scope,
          audience,
        };
        this.cache.set(key, cached);
        return cached;
      },
      { timeoutMs: this.#timeoutSeconds * 1000 * 2 },
    );
  }
}
