/**
 * A credential directory laid out as the CredD lays it out (test/helpers/credd.ts: root:condor 2770,
 * key files of old-syntax ClassAds written mode 0640), the bundled test issuer with the OAuth2 client the
 * access point is registered as, and the credmon's login web app in front of them.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type {
  CredmonConfig,
  LocalProviderConfig,
  OAuth2ProviderConfig,
} from '../../../src/credmon/config/types.js';
import type { formatKeyFile } from '../../../src/credmon/key-file.js';
import { createLoginServer, type LoginServer } from '../../../src/credmon/web/index.js';
import { createLog, type LogRecord } from '../../../src/log/index.js';
import { startTestIssuer, type TestIssuer } from '../../../src/testing/index.js';
import { credDKeyAd, makeCredDir, writeKeyFile as writeCredDKeyFile } from '../../helpers/credd.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { tempDir } from '../../helpers/tmp.js';

export const CLIENT_ID = 'htcondor-ap';
export const CLIENT_SECRET = `ap-secret-${randomBytes(12).toString('hex')}`;
export const PROVIDER = 'wlcg';

/** A free port on 127.0.0.1: the web prefix (and so the redirect URI) must name it before the server starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function credmonConfig(credDir: string, overrides: Partial<CredmonConfig> = {}): CredmonConfig {
  return {
    credDir,
    logFile: undefined,
    allowSpecialCharNames: false,
    trustCredentialDirectory: false,
    credentialRefreshSeconds: 300,
    scanIntervalSeconds: 60,
    renewFraction: 0.5,
    webPrefix: undefined,
    oauth2ProviderNames: '*',
    oauth2: [],
    local: [],
    client: [],
    ...overrides,
  };
}

export interface LoginWorld {
  credDir: string;
  issuer: TestIssuer;
  server: LoginServer;
  /** The web prefix: `http://127.0.0.1:PORT`, or `https://` with `tls`. */
  base: string;
  /** With `tls`: the server's self-signed certificate (its own CA). */
  certFile?: string;
  config: CredmonConfig;
  logs: LogRecord[];
  stored: Array<[string, string]>;
  /** Writes a key file as the CredD does and returns its 64-hex name. */
  writeKeyFile(ads: Parameters<typeof formatKeyFile>[0]): Promise<string>;
  /** The ad the CredD writes for `user` and the test issuer (handle, scopes, audience as given). */
  ad(
    user: string,
    more?: { handle?: string; scopes?: string; audience?: string },
  ): Parameters<typeof formatKeyFile>[0][number];
  /** Every file under the credential directory with its mode and text. */
  files(): Promise<Array<{ path: string; mode: number; text: string }>>;
  close(): Promise<void>;
}

export async function startLoginWorld(
  options: {
    local?: LocalProviderConfig;
    autoApprove?: string;
    providerTimeoutSeconds?: number;
    /** How long a return waits for the lock on the credential's .top (the server's default otherwise). */
    loginLockWaitMs?: number;
    /** The login server's clock (epoch ms). */
    clock?: () => number;
    /** Serve the login app over its own TLS (a self-signed certificate for 127.0.0.1). */
    tls?: boolean;
    /** Changes to the provider's configuration; `issuer: true` sets `<P>_ISSUER` to the test issuer. */
    provider?: Partial<Omit<OAuth2ProviderConfig, 'issuer'>> & { issuer?: boolean };
  } = {},
): Promise<LoginWorld> {
  const tmp = await tempDir('tw-credmon-web-');
  const credd = await makeCredDir(tmp.dir);
  const credDir = credd.path;
  const port = await freePort();
  const tls = options.tls ? selfSignedCert(tmp.dir) : undefined;
  const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const issuer = await startTestIssuer({
    ...(options.autoApprove === undefined ? {} : { autoApproveInteractions: options.autoApprove }),
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        client_name: 'HTCondor access point',
        redirect_uris: [`${base}/return/${PROVIDER}`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
        scope: 'openid offline_access storage.read:/ storage.create:/ wlcg',
      },
    ],
  });
  const config = credmonConfig(credDir, {
    webPrefix: base,
    oauth2: [
      {
        kind: 'oauth2',
        name: PROVIDER,
        clientId: CLIENT_ID,
        clientSecretFile: undefined,
        authorizationUrl: `${issuer.url}/auth`,
        tokenUrl: `${issuer.url}/token`,
        returnUrlSuffix: `/return/${PROVIDER}`,
        userUrl: undefined,
        ...options.provider,
        issuer: options.provider?.issuer ? issuer.url : undefined,
      },
    ],
    local: options.local === undefined ? [] : [options.local],
  });
  const logs: LogRecord[] = [];
  const log = createLog([{ write: (r) => logs.push(r) }], { level: 'debug' });
  const stored: Array<[string, string]> = [];
  let server: LoginServer;
  try {
    server = await createLoginServer({
      config,
      log,
      port,
      tls,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.loginLockWaitMs === undefined ? {} : { loginLockWaitMs: options.loginLockWaitMs }),
      ...(options.providerTimeoutSeconds === undefined
        ? {}
        : { providerTimeoutSeconds: options.providerTimeoutSeconds }),
      onStored: (user, name) => {
        stored.push([user, name]);
      },
    });
  } catch (err) {
    await issuer.close();
    await tmp.cleanup();
    throw err;
  }
  const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
  };
  return {
    credDir,
    issuer,
    server,
    base,
    ...(tls ? { certFile: tls.certFile } : {}),
    config,
    logs,
    stored,
    ad: (user, more = {}) => ({
      provider: PROVIDER,
      localUser: user,
      handle: more.handle ?? '',
      scopes: more.scopes ?? 'openid, offline_access, storage.read:/',
      audience: more.audience ?? '',
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      returnUrl: `${base}/return/${PROVIDER}`,
      authorizationUrl: discovery.authorization_endpoint,
      tokenUrl: discovery.token_endpoint,
    }),
    async writeKeyFile(ads) {
      return writeCredDKeyFile(
        credd,
        ads.map((ad) =>
          credDKeyAd({
            Provider: ad.provider,
            LocalUser: ad.localUser,
            Handle: ad.handle ?? '',
            Scopes: ad.scopes ?? '',
            Audience: ad.audience ?? '',
            ClientId: ad.clientId ?? '',
            ClientSecret: ad.clientSecret ?? '',
            ReturnUrl: ad.returnUrl ?? '',
            AuthorizationUrl: ad.authorizationUrl ?? '',
            TokenUrl: ad.tokenUrl ?? '',
          }),
        ),
      );
    },
    async files() {
      const out: Array<{ path: string; mode: number; text: string }> = [];
      const walk = async (dir: string, rel: string) => {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          const r = rel === '' ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) await walk(p, r);
          else if (e.isFile())
            out.push({ path: r, mode: (await stat(p)).mode & 0o7777, text: await readFile(p, 'latin1') });
        }
      };
      await walk(credDir, '');
      return out.sort((a, b) => a.path.localeCompare(b.path));
    },
    async close() {
      await server.close();
      await issuer.close();
      log.close();
      await tmp.cleanup();
    },
  };
}

/** A tiny cookie-keeping HTTP client for the login app (one browser, no redirects followed). */
export function browserlessClient(base: string) {
  let cookie: string | undefined;
  return {
    get cookie() {
      return cookie;
    },
    set cookie(value: string | undefined) {
      cookie = value;
    },
    async get(url: string): Promise<Response> {
      const response = await fetch(new URL(url, base), {
        redirect: 'manual',
        headers: { accept: 'text/html', ...(cookie === undefined ? {} : { cookie }) },
      });
      const set = response.headers.getSetCookie()[0];
      if (set !== undefined && new URL(url, base).origin === new URL(base).origin) cookie = set.split(';')[0];
      return response;
    },
  };
}
