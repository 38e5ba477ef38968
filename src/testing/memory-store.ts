import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage contract, kept in memory for one issuer. The provider's own quick-start
 * adapter is a process-wide LRU of 1000 entries, shared by every provider in the process: benchmarks
 * would evict live grants, and tests running several issuers would share one store. This one is per
 * issuer, unbounded, and drops expired entries as it goes.
 */
export interface MemoryStore {
  /** oidc-provider's `adapter` option: a factory called once per model name. */
  adapterFor(model: string): Adapter;
  /** Revokes every grant and every token issued under one (as an administrator would); returns how many. */
  revokeAllGrants(): number;
}

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; undefined for entries that never expire (clients). */
  expiresAt: number | undefined;
}

const SWEEP_EVERY = 1000;

export function createMemoryStore(now: () => number = Date.now): MemoryStore {
  const entries = new Map<string, Entry>();
  // Secondary indexes, per model ("RefreshToken:<grantId>"): grantId → keys of the tokens of that grant,
  // userCode → key, uid → key. Keys are "<model>:<id>"; model names contain no colon.
  const byGrant = new Map<string, Set<string>>();
  const byUserCode = new Map<string, string>();
  const byUid = new Map<string, string>();
  let writes = 0;

  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    return entry;
  }

  function remove(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    const model = key.slice(0, key.indexOf(':'));
    const { grantId, userCode, uid } = entry.payload;
    if (grantId) byGrant.get(`${model}:${grantId}`)?.delete(key);
    if (userCode && byUserCode.get(`${model}:${userCode}`) === key) byUserCode.delete(`${model}:${userCode}`);
    if (uid && byUid.get(`${model}:${uid}`) === key) byUid.delete(`${model}:${uid}`);
  }

  function sweep(): void {
    const t = now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= t) remove(key);
    }
    for (const [grantId, keys] of byGrant) if (keys.size === 0) byGrant.delete(grantId);
  }

  function adapterFor(model: string): Adapter {
    const keyOf = (id: string) => `${model}:${id}`;
    const found = (key: string | undefined) => (key === undefined ? undefined : live(key)?.payload);
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        remove(key);
        entries.set(key, {
          payload: structuredClone(payload),
          expiresAt: typeof expiresIn === 'number' ? now() + expiresIn * 1000 : undefined,
        });
        if (payload.grantId) {
          const keys = byGrant.get(keyOf(payload.grantId)) ?? new Set<string>();
          keys.add(key);
          byGrant.set(keyOf(payload.grantId), keys);
        }
        if (payload.userCode) byUserCode.set(keyOf(payload.userCode), key);
        if (payload.uid) byUid.set(keyOf(payload.uid), key);
        if (++writes % SWEEP_EVERY === 0) sweep();
      },
      async find(id) {
        return structuredClone(found(keyOf(id)));
      },
      async findByUserCode(userCode) {
        return structuredClone(found(byUserCode.get(keyOf(userCode))));
      },
      async findByUid(uid) {
        return structuredClone(found(byUid.get(keyOf(uid))));
      },
      async consume(id) {
        const entry = live(keyOf(id));
        if (entry) entry.payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        remove(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of [...(byGrant.get(keyOf(grantId)) ?? [])]) remove(key);
        byGrant.delete(keyOf(grantId));
      },
    };
  }

  function revokeAllGrants(): number {
    for (const keys of byGrant.values()) for (const key of [...keys]) remove(key);
    byGrant.clear();
    const grants = [...entries.keys()].filter((key) => key.startsWith('Grant:') && live(key));
    for (const key of grants) remove(key);
    return grants.length;
  }

  return { adapterFor, revokeAllGrants };
}
