import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientInstance, Provider } from 'oidc-provider';
import { TokenwardenError } from '../errors.js';
import { resourceServerInfo } from './access-tokens.js';
import { approveDeviceCode, denyDeviceCode, deviceAuthorizationMiddleware } from './device.js';
import type { TestIssuerFault } from './faults.js';
import { createFrontDoor } from './front-door.js';
import { generateIssuerKeys } from './keys.js';
import { createSecretLedger } from './ledger.js';
import { loadOidcProvider } from './load-provider.js';
import { createMemoryStore } from './memory-store.js';
import { resolveTestIssuerOptions, type TestIssuerOptions } from './options.js';
import { buildProviderConfiguration } from './provider-config.js';
import { refreshExpiresInMiddleware } from './refresh-expires-in.js';
import { collectStats, type TestIssuerStats } from './stats.js';
import { registerTokenExchange } from './token-exchange.js';
import { RESOURCE_SERVER } from './wlcg.js';

/** A running test issuer. See startTestIssuer. */
export interface TestIssuer {
  /** Issuer identifier, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  /** The oidc-provider instance doing the OAuth work. */
  readonly provider: Provider;
  /** Approves a pending device code (RFC 8628) as `accountId` (default "alice"), consenting to everything asked. */
  approveDeviceCode(userCode: string, accountId?: string): Promise<void>;
  /** Denies a pending device code: the client's next poll gets access_denied. */
  denyDeviceCode(userCode: string): Promise<void>;
  /** Registers a client (oidc-provider ClientMetadata, snake_case); replaces one with the same client_id. */
  addClient(metadata: Record<string, unknown>): Promise<void>;
  /** Makes the token endpoint (only) fail as `fault` says, until set back to 'none'. */
  setFault(fault: TestIssuerFault): void;
  stats(): TestIssuerStats;
  /** Revokes every grant with all its tokens, as an administrator would: refreshes then get invalid_grant. */
  revokeAllGrants(): Promise<void>;
  /**
   * Every secret issued so far (tokens, codes, client secrets), and every secret the 'echo-secrets'
   * fault quoted back (Basic credentials included), for leak checks.
   */
  issuedSecrets(): string[];
  /** When (epoch ms) a refresh token was redeemed and so rotated away; undefined if it was not. */
  refreshTokenConsumedAt(refreshToken: string): number | undefined;
  /** The access token issued in the exchange that redeemed this refresh token (rotated it away). */
  accessTokenIssuedFor(refreshToken: string): string | undefined;
  /** Stops listening and drops every connection, hung ones included. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts an OpenID provider on 127.0.0.1 configured like a WLCG token issuer (INDIGO IAM): discovery,
 * JWKS, dynamic client registration (RFC 7591/7592), device flow (RFC 8628), authorization code with
 * PKCE and loopback redirects (RFC 7636, RFC 8252), refresh token rotation with reuse detection, client
 * credentials, token exchange (RFC 8693), and WLCG JWT access tokens whose audience any grant may pick
 * (audience= or RFC 8707 resource=). Everything is in memory; keys are made at start.
 *
 * Requests pass a front door before oidc-provider: injected faults and the audience rewrite of the
 * token endpoint, the interaction pages, and auto-approved authorization requests.
 */
export async function startTestIssuer(options?: TestIssuerOptions): Promise<TestIssuer> {
  const resolved = resolveTestIssuerOptions(options);
  const [{ Provider, errors }, keys] = await Promise.all([
    loadOidcProvider(),
    generateIssuerKeys(resolved.signingAlg),
  ]);

  // Listen first: the issuer identifier holds the port.
  const server = createServer();
  await listen(server, resolved.port);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const store = createMemoryStore();
    const provider = new Provider(
      url,
      buildProviderConfiguration({ options: resolved, keys, store, errors }),
    );
    const tokenSettings = { accessTokenTtl: resolved.accessTokenTtl, signingAlg: resolved.signingAlg };
    registerTokenExchange({
      provider,
      errors,
      publicJwks: keys.publicJwks,
      signingAlg: resolved.signingAlg,
      resourceServer: (ctx) => ({
        identifier: RESOURCE_SERVER,
        info: resourceServerInfo(ctx, ctx.oidc.client, tokenSettings),
      }),
    });
    provider.use(
      deviceAuthorizationMiddleware(provider, resolved.deviceInterval, resolved.autoApproveDevice),
    );
    if (resolved.refreshExpiresIn) provider.use(refreshExpiresInMiddleware());
    const counters = collectStats(provider);
    const ledger = createSecretLedger(provider);

    async function addClient(metadata: Record<string, unknown>): Promise<void> {
      let client: ClientInstance;
      try {
        client = new provider.Client(structuredClone(metadata));
      } catch (err) {
        const description = (err as { error_description?: string }).error_description ?? String(err);
        throw new TokenwardenError(
          'USAGE',
          `test issuer: client ${String(metadata.client_id)}: ${description}`,
          {
            cause: err,
          },
        );
      }
      await provider.Client.adapter.upsert(client.clientId, client.metadata());
      ledger.record(metadata.client_secret);
    }
    for (const metadata of resolved.clients) await addClient(metadata);

    const frontDoor = createFrontDoor({
      provider,
      issuer: url,
      autoApproveInteractions: resolved.autoApproveInteractions,
      onFault: () => counters.countFault(),
      onEcho: (value) => ledger.record(value),
    });
    server.on('request', frontDoor.handle);

    let closing: Promise<void> | undefined;
    return {
      url,
      provider,
      approveDeviceCode: (userCode, accountId = 'alice') => approveDeviceCode(provider, userCode, accountId),
      denyDeviceCode: (userCode) => denyDeviceCode(provider, userCode),
      addClient,
      setFault: (fault) => frontDoor.setFault(fault),
      stats: () => counters.snapshot(),
      async revokeAllGrants() {
        counters.countRevokedGrants(store.revokeAllGrants());
      },
      issuedSecrets: () => ledger.issuedSecrets(),
      refreshTokenConsumedAt: (refreshToken) => ledger.refreshTokenConsumedAt(refreshToken),
      accessTokenIssuedFor: (refreshToken) => ledger.accessTokenIssuedFor(refreshToken),
      close() {
        closing ??= stop(server, frontDoor.dropHungRequests);
        return closing;
      },
    };
  } catch (err) {
    await stop(server, () => {});
    throw err;
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops listening, then ends every connection at once: idle keep-alive ones and hung requests alike. */
function stop(server: Server, dropHungRequests: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    dropHungRequests();
    server.closeAllConnections();
  });
}
