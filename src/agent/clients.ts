import { createHash } from 'node:crypto';
import type * as oc from 'openid-client';
import { createClient } from '../oidc/index.js';
import type { AccountRecord } from '../store/index.js';

type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | undefined;

/**
 * OAuth clients built from credential records, one per (issuer, client id, auth method, client secret):
 * building one costs a discovery request. The agent asks for the client of the record it has just read
 * under the account's lock, never one remembered from `add` time: a new `setup` replaces the client
 * registration along with the refresh token, and the old client id would make the issuer refuse the new
 * token (invalid_grant). The secret enters the key only as a hash, and only in memory.
 */
export class ClientCache {
  readonly #clients = new Map<string, Promise<oc.Configuration>>();
  readonly #timeoutSeconds: number;
  readonly #fetch: typeof fetch | undefined;

  constructor(options: { timeoutSeconds: number; fetch?: typeof fetch | undefined }) {
    this.#timeoutSeconds = options.timeoutSeconds;
    this.#fetch = options.fetch;
  }

  static key(record: AccountRecord): string {
    const secret = record.clientSecret
      ? createHash('sha256').update(record.clientSecret.reveal()).digest('base64url')
      : '';
    return JSON.stringify([
      record.issuer.replace(/\/+$/, ''),
      record.clientId,
      record.tokenEndpointAuthMethod ?? '',
      secret,
    ]);
  }

  /** The client for this record; a failed build (issuer down) is not remembered. */
  get(record: AccountRecord): Promise<oc.Configuration> {
    const key = ClientCache.key(record);
    const known = this.#clients.get(key);
    if (known) return known;
    const built = createClient(
      {
        issuer: record.issuer,
        clientId: record.clientId,
        clientSecret: record.clientSecret,
        authMethod: record.tokenEndpointAuthMethod as AuthMethod,
      },
      { timeoutSeconds: this.#timeoutSeconds, fetch: this.#fetch },
    );
    this.#clients.set(key, built);
    built.catch(() => {
      if (this.#clients.get(key) === built) this.#clients.delete(key);
    });
    return built;
  }
}
