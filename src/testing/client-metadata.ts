import { TOKEN_EXCHANGE_GRANT_TYPE } from './token-exchange.js';
import { rootScopeOf } from './wlcg.js';

/**
 * Client metadata as WLCG clients send it, made acceptable to oidc-provider's client schema. Runs, through
 * `extraClientMetadata.validator`, on every client the issuer validates: dynamically registered
 * (RFC 7591), updated (RFC 7592) or added with addClient().
 *
 * What oidc-agent's `oidc-gen` sends and the stock schema refuses:
 * - `scope` with scopes the schema does not know (`storage.read:/data`, `eduperson_entitlement`);
 * - `application_type: "web"` with `edu.kit.data.oidc-agent:/redirect` and `http://localhost:<port>`
 *   redirect URIs, which only a native client may have.
 */
export const CLIENT_METADATA_HOOK = 'x_test_issuer_compat';

export function normalizeClientMetadata(metadata: Record<string, unknown>): void {
  delete metadata[CLIENT_METADATA_HOOK];
  normalizeScope(metadata);
  normalizeApplicationType(metadata);
  allowTokenExchange(metadata);
}

/**
 * Path-suffixed scopes become the scope that authorizes them (`storage.read:/data` → `storage.read:/`);
 * unknown scopes are dropped. oidc-provider only polices requests for scopes listed in `scopes`, so the
 * client may still ask for the suffixed forms it registered.
 */
function normalizeScope(metadata: Record<string, unknown>): void {
  if (typeof metadata.scope !== 'string') return;
  const scopes = new Set<string>();
  for (const s of metadata.scope.split(' ')) {
    const root = rootScopeOf(s);
    if (root) scopes.add(root);
  }
  if (scopes.size > 0) metadata.scope = [...scopes].join(' ');
  else delete metadata.scope;
}

/**
 * A client whose redirect URIs are all loopback `http` or private-use schemes is a native app (RFC 8252
 * sections 7.1 and 7.3), whatever it declared; as one it also gets the loopback port flexibility of
 * RFC 8252 section 7.3, which oidc-provider grants native clients only.
 */
function normalizeApplicationType(metadata: Record<string, unknown>): void {
  const uris = metadata.redirect_uris;
  if (metadata.application_type === 'native' || !Array.isArray(uris) || uris.length === 0) return;
  if (uris.every((u) => typeof u === 'string' && isNativeRedirectUri(u)))
    metadata.application_type = 'native';
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const UNSAFE_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);

function isNativeRedirectUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname);
  return url.protocol !== 'https:' && !UNSAFE_SCHEMES.has(url.protocol);
}

/** Every client that authenticates may exchange tokens (RFC 8693), as on a WLCG IAM with it enabled. */
function allowTokenExchange(metadata: Record<string, unknown>): void {
  const grantTypes = metadata.grant_types;
  if (metadata.token_endpoint_auth_method === 'none' || !Array.isArray(grantTypes)) return;
  // A new array: the schema may hand us the provider's clientDefaults array itself.
  if (!grantTypes.includes(TOKEN_EXCHANGE_GRANT_TYPE))
    metadata.grant_types = [...grantTypes, TOKEN_EXCHANGE_GRANT_TYPE];
}
