import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CredmonConfig, OAuth2ProviderConfig } from '../../src/credmon/config/types.js';
import { createLog, type Log, type LogRecord } from '../../src/log/index.js';
import { createClient, initiateDeviceAuthorization, pollDeviceAuthorization } from '../../src/oidc/index.js';
import { Secret } from '../../src/secret.js';
import type { TestIssuer } from '../../src/testing/index.js';

/** Shared by the credmon tests: a real client at the test issuer, real refresh tokens, a log kept in memory. */

export const CLIENT_SECRET = 'credmon-client-secret-7f3a91';
const ctx = { timeoutSeconds: 5 };

/** Registers the credmon's confidential client (client_secret_post, as requests_oauthlib sends it). */
export async function addCredmonClient(issuer: TestIssuer, clientId = 'credmon'): Promise<void> {
  await issuer.addClient({
    client_id: clientId,
    client_secret: CLIENT_SECRET,
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'openid offline_access storage.read:/ storage.create:/ compute.read',
  });
}

/** A real refresh token of `user`, through the device flow (what the web app's login leaves in `.top`). */
export async function loginRefreshToken(
  issuer: TestIssuer,
  user: string,
  scope = ['openid', 'offline_access', 'storage.read:/', 'compute.read'],
  clientId = 'credmon',
): Promise<string> {
  const client = await createClient(
    {
      issuer: issuer.url,
      clientId,
      clientSecret: new Secret(CLIENT_SECRET),
      authMethod: 'client_secret_post',
    },
    ctx,
  );
  const auth = await initiateDeviceAuthorization(client, { scope }, ctx);
  await issuer.approveDeviceCode(auth.userCode, user);
  const tokens = await pollDeviceAuthorization(client, auth, ctx);
  if (tokens.refreshToken === undefined) throw new Error('no refresh token');
  return tokens.refreshToken.reveal();
}

export function oauth2Provider(
  name: string,
  issuer: TestIssuer,
  secretFile: string,
  clientId = 'credmon',
): OAuth2ProviderConfig {
  return {
    kind: 'oauth2',
    name,
    clientId,
    clientSecretFile: secretFile,
    authorizationUrl: `${issuer.url}/auth`,
    tokenUrl: `${issuer.url}/token`,
    issuer: undefined,
    returnUrlSuffix: `/return/${name}`,
    userUrl: undefined,
  };
}

export async function writeSecretFile(dir: string): Promise<string> {
  const path = join(dir, 'client_secret');
  await writeFile(path, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  return path;
}

export function credmonConfig(credDir: string, over: Partial<CredmonConfig> = {}): CredmonConfig {
  return {
    credDir,
    logFile: undefined,
    allowSpecialCharNames: false,
    trustCredentialDirectory: false,
    credentialRefreshSeconds: 300,
    scanIntervalSeconds: 3600,
    renewFraction: 0.5,
    webPrefix: undefined,
    oauth2ProviderNames: '*',
    oauth2: [],
    local: [],
    client: [],
    ...over,
  };
}

/** A log whose lines (already redacted) are kept for assertions; debug included. */
export function memoryLog(): { log: Log; lines: LogRecord[]; text(): string } {
  const lines: LogRecord[] = [];
  const log = createLog([{ write: (r) => lines.push(r) }], { level: 'debug' });
  return { log, lines, text: () => lines.map((l) => l.text).join('\n') };
}

/** Secrets that appear in `text`, named by their first characters. */
export function leaksIn(text: string, secrets: Iterable<string>): string[] {
  const out: string[] = [];
  for (const s of secrets) if (s.length >= 8 && text.includes(s)) out.push(`${s.slice(0, 6)}…`);
  return out;
}
