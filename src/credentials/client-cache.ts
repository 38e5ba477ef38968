import type { ClientSpec, IssuerMetadata, OAuthClient, RequestContext } from '../oidc/index.js';
import type { AccountRecord } from '../store/index.js';
import { loadOidc } from './load-oidc.js';

/**
 * OAuth clients for credentials, with discovery done once per issuer. A client is always derived from
 * the record (or config section) just read, never remembered from an earlier read: a new `setup`
 * replaces the client registration along with the refresh token, and the old client id would make the
 * issuer refuse the new token (invalid_grant).
 *
 * What is cached is what costs a request: each issuer's metadata (discovery), kept by issuer URL. The
 * client object itself is built per session from that metadata and the spec's (issuer, client id,
 * client secret, auth method, token endpoint), with no request: it carries the session's deadline and
 * fetch, which differ between runs of a long-running process. A client with a token endpoint of its
 * own (osg-token-renewer's `token_request_url`) needs no discovery at all. A failed discovery (issuer
 * down) is not remembered.
 *
 * One cache may live as long as the process (the daemon keeps one across runs); the agent keeps one too.
 * So that a process running for weeks follows an issuer that moves its endpoints, metadata is kept for
 * `ttlMs` (an hour by default) and then discovered again.
 */
export class ClientCache {
  readonly #issuers = new Map<string, { metadata: Promise<IssuerMetadata>; at: number }>();
  readonly #ttlMs: number;
  readonly #clock: () => number;

  constructor(options: { ttlMs?: number; clock?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? DISCOVERY_TTL_MS;
    this.#clock = options.clock ?? Date.now;
  }

  /** The client for `spec`, discovering its issuer only when this cache has not yet. */
  async client(spec: ClientSpec, ctx: RequestContext): Promise<OAuthClient> {
    const oidc = await loadOidc();
    if (spec.tokenEndpoint !== undefined) return oidc.createClient(spec, ctx);
    return oidc.clientFromMetadata(await this.#discover(spec.issuer, ctx), spec, ctx);
  }

  /** The client of a credential record (the client `setup` registered or was given). */
  forRecord(record: AccountRecord, ctx: RequestContext, issuer = record.issuer): Promise<OAuthClient> {
    return this.client(clientSpecOf(record, issuer), ctx);
  }

  /** How many issuers this cache has discovered (or is discovering). */
  get size(): number {
    return this.#issuers.size;
  }

  async #discover(issuer: string, ctx: RequestContext): Promise<IssuerMetadata> {
    const known = this.#fresh(issuer);
    if (known !== undefined) return known;
    const { discoverIssuer } = await loadOidc();
    // Checked again: another caller may have started it while the module loaded.
    const raced = this.#fresh(issuer);
    if (raced !== undefined) return raced;
    const discovered = discoverIssuer(issuer, ctx);
    const entry = { metadata: discovered, at: this.#clock() };
    this.#issuers.set(issuer, entry);
    discovered.catch(() => {
      if (this.#issuers.get(issuer) === entry) this.#issuers.delete(issuer);
    });
    return discovered;
  }

  #fresh(issuer: string): Promise<IssuerMetadata> | undefined {
    const entry = this.#issuers.get(issuer);
    if (entry === undefined) return undefined;
    if (this.#clock() - entry.at <= this.#ttlMs) return entry.metadata;
    this.#issuers.delete(issuer);
    return undefined;
  }
}

/** How long an issuer's discovered metadata is used before it is discovered again. */
export const DISCOVERY_TTL_MS = 3_600_000;

/** The client spec a credential record holds. */
export function clientSpecOf(record: AccountRecord, issuer = record.issuer): ClientSpec {
  return {
    issuer,
    clientId: record.clientId,
    clientSecret: record.clientSecret,
    authMethod: record.tokenEndpointAuthMethod as ClientSpec['authMethod'],
  };
}
