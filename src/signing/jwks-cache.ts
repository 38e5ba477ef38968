import type { JWK } from 'jose';
import { fetchIssuerKeys, KeyFetchError } from './fetch-keys.js';

export interface JwksCacheOptions {
  /** Issuers whose keys are kept; the least recently used is dropped beyond it (default 64). */
  maxIssuers?: number;
  /** A key set older than this is fetched again when used (default 10 min, scitokens-cpp's update interval). */
  refreshAfterMs?: number;
  /** A key set is still used this long when its issuer cannot be reached (default 4 days, scitokens-cpp's expiry). */
  maxAgeMs?: number;
  /** At most one fetch per issuer in this interval, whatever the tokens say (default 60 s). */
  minRefetchMs?: number;
}

export interface KeyLookup {
  fetch: typeof fetch;
  /** Epoch milliseconds. */
  clock: () => number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Public keys by issuer, cached (see createJwksCache). */
export interface JwksCache {
  /** The issuer's key `kid`; throws KeyFetchError (rule `discovery` or `jwks`) saying why there is none. */
  keyFor(issuer: string, kid: string, lookup: KeyLookup): Promise<JWK>;
  /** How many issuers are cached. */
  readonly size: number;
}

interface Entry {
  keys: JWK[];
  /** When `keys` were fetched (0: never). */
  fetchedAt: number;
  /** When a fetch was last started, successful or not. */
  attemptedAt: number;
  lastError: KeyFetchError | undefined;
  inflight: Promise<void> | undefined;
}

/**
 * Issuers' public keys, kept as relying parties are asked to keep them (the WLCG JWT profile's key
 * rotation guidance; scitokens-cpp does the same): a key set is reused until `refreshAfterMs` old,
 * then fetched again; a token naming a `kid` the set lacks (a key just rotated in) makes one fetch,
 * but never more than one per issuer per `minRefetchMs`, so a stream of forged `kid`s cannot hammer an
 * issuer; when the issuer cannot be reached, the keys already known serve up to `maxAgeMs`. One fetch
 * per issuer at a time; at most `maxIssuers` issuers are kept.
 */
export function createJwksCache(options: JwksCacheOptions = {}): JwksCache {
  const maxIssuers = options.maxIssuers ?? 64;
  const refreshAfterMs = options.refreshAfterMs ?? 10 * 60_000;
  const maxAgeMs = options.maxAgeMs ?? 4 * 86_400_000;
  const minRefetchMs = options.minRefetchMs ?? 60_000;
  const entries = new Map<string, Entry>();

  const touch = (issuer: string, entry: Entry) => {
    entries.delete(issuer);
    entries.set(issuer, entry);
    while (entries.size > maxIssuers) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  };

  const refetch = (issuer: string, entry: Entry, lookup: KeyLookup): Promise<void> => {
    entry.inflight ??= (async () => {
      entry.attemptedAt = lookup.clock();
      try {
        entry.keys = await fetchIssuerKeys(issuer, lookup);
        entry.fetchedAt = lookup.clock();
        entry.lastError = undefined;
      } catch (err) {
        entry.lastError =
          err instanceof KeyFetchError
            ? err
            : new KeyFetchError('jwks', `fetching the keys failed: ${String(err)}`);
      } finally {
        entry.inflight = undefined;
      }
    })();
    return entry.inflight;
  };

  return {
    get size() {
      return entries.size;
    },
    async keyFor(issuer, kid, lookup) {
      let entry = entries.get(issuer);
      if (entry === undefined) {
        entry = { keys: [], fetchedAt: 0, attemptedAt: 0, lastError: undefined, inflight: undefined };
      }
      touch(issuer, entry);
      const find = () => entry.keys.find((k) => k.kid === kid);
      const now = lookup.clock();
      const mayFetch = entry.attemptedAt === 0 || now - entry.attemptedAt >= minRefetchMs;
      const fresh = entry.fetchedAt !== 0 && now - entry.fetchedAt < refreshAfterMs;
      if (entry.inflight) await entry.inflight;
      else if ((!fresh || find() === undefined) && mayFetch) await refetch(issuer, entry, lookup);
      const key = find();
      const usable = entry.fetchedAt !== 0 && lookup.clock() - entry.fetchedAt < maxAgeMs;
      if (key !== undefined && usable) return key;
      if (entry.fetchedAt === 0 || !usable) {
        throw entry.lastError ?? new KeyFetchError('jwks', `the keys of ${issuer} could not be fetched`);
      }
      throw new KeyFetchError(
        'jwks',
        `the issuer ${issuer} publishes no key with kid ${JSON.stringify(kid.slice(0, 100))}` +
          (entry.lastError ? ` (its keys could not be fetched again: ${entry.lastError.message})` : ''),
      );
    },
  };
}
