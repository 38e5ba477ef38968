import type * as oc from 'openid-client';
import { TokenwardenError } from '../errors.js';
import {
  type AudienceParam,
  beginAuthorizationCodeLogin,
  type ClientAuthMethod,
  clientCredentialsGrant,
  createClient,
  type DeviceAuthorization,
  initiateDeviceAuthorization,
  parseIssuerUrl,
  pollDeviceAuthorization,
  type RequestContext,
  registerClient,
  startLoopbackReceiver,
  type TokenResponse,
} from '../oidc/index.js';
import type { Secret } from '../secret.js';
import type { AccountRecord, CredentialStore } from '../store/index.js';

export type SetupMode = 'dynamic' | 'manual' | 'client-credentials';
export type LoginFlow = 'device' | 'code';

export interface SetupOptions {
  account: string;
  issuer: string;
  mode: SetupMode;
  flow: LoginFlow;
  scope: readonly string[];
  /** `--manual` and `--client-credentials --manual`: a client registered by hand. */
  clientId?: string | undefined;
  clientSecret?: Secret | undefined;
  audienceParam?: AudienceParam | undefined;
  /** Where refresh-token accounts are stored (unused for client credentials). */
  store: CredentialStore;
  ctx: RequestContext;
  /** Shown to the human: the verification URL and user code (device flow). */
  onDeviceCode?: (authorization: DeviceAuthorization) => void | Promise<void>;
  /** Shown to the human: the URL to open (code flow). */
  onAuthorizationUrl?: (url: URL) => void | Promise<void>;
  /** Ends a login that takes too long. */
  signal?: AbortSignal | undefined;
  clock?: () => number;
}

export interface SetupResult {
  account: string;
  issuer: string;
  clientId: string;
  clientSecret?: Secret | undefined;
  tokenEndpoint: string;
  /** Scopes the issuer granted (from the token response, else what was asked). */
  scope: string[];
  /** For refresh-token accounts: the record now in the store. */
  record?: AccountRecord | undefined;
  /** The first access token obtained (proves the account works). */
  firstToken: TokenResponse;
}

interface ClientChoice {
  config: oc.Configuration;
  clientId: string;
  clientSecret?: Secret | undefined;
  authMethod: ClientAuthMethod;
  registration?: AccountRecord['registration'];
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const SETUP_MODES: readonly SetupMode[] = ['dynamic', 'manual', 'client-credentials'];
const LOGIN_FLOWS: readonly LoginFlow[] = ['device', 'code'];
const AUDIENCE_PARAMS: readonly AudienceParam[] = ['audience', 'resource'];
/** scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), RFC 6749 section 3.3. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The inputs of createAccount that checkSetupOptions checks. */
export type SetupInputs = Pick<
  SetupOptions,
  'issuer' | 'mode' | 'flow' | 'scope' | 'clientId' | 'audienceParam'
>;

/** What the errors of checkSetupOptions call each input; the CLI passes its option names. */
export interface SetupInputNames {
  issuer?: string;
  flow?: string;
  scope?: string;
  clientId?: string;
  audienceParam?: string;
}

/**
 * An issuer URL setup can use: https (plain http only on loopback), no user name or password, no query
 * or fragment (RFC 8414 section 2). Throws USAGE naming `name`; a URL with a credential is not echoed.
 */
export function checkIssuerUrl(value: string, name = 'issuer'): URL {
  let credentials = false;
  try {
    const raw = new URL(value);
    credentials = raw.username !== '' || raw.password !== '';
  } catch {
    // parseIssuerUrl names the value that is not a URL.
  }
  if (credentials) throw new TokenwardenError('USAGE', `${name} must not contain a user name or password`);
  const url = parseIssuerUrl(value, name);
  if (url.search !== '' || url.hash !== '') {
    throw new TokenwardenError(
      'USAGE',
      `${name} ${url.href} must have no query or fragment (RFC 8414 section 2)`,
    );
  }
  return url;
}

/**
 * Checks the options of createAccount before anything happens (no request sent, no file written), so a
 * mistake never leaves a registered client or a file behind. Pure; throws USAGE naming the input.
 */
export function checkSetupOptions(options: SetupInputs, names: SetupInputNames = {}): void {
  checkIssuerUrl(options.issuer, names.issuer);
  if (!SETUP_MODES.includes(options.mode)) {
    throw new TokenwardenError(
      'USAGE',
      `setup mode ${JSON.stringify(options.mode)}: use ${SETUP_MODES.join(', ')}`,
    );
  }
  if (!LOGIN_FLOWS.includes(options.flow)) {
    throw new TokenwardenError(
      'USAGE',
      `${names.flow ?? 'flow'} ${JSON.stringify(options.flow)}: use ${LOGIN_FLOWS.join(' or ')}`,
    );
  }
  for (const token of options.scope) {
    if (!SCOPE_TOKEN.test(token)) {
      throw new TokenwardenError(
        'USAGE',
        `${names.scope ?? 'scope'}: ${JSON.stringify(token)} is not a scope (RFC 6749 section 3.3: printable ASCII except space, " and \\)`,
      );
    }
  }
  if (options.mode === 'manual' && !options.clientId) {
    throw new TokenwardenError('USAGE', `a client registered by hand needs ${names.clientId ?? 'clientId'}`);
  }
  if (options.audienceParam !== undefined && !AUDIENCE_PARAMS.includes(options.audienceParam)) {
    throw new TokenwardenError(
      'USAGE',
      `${names.audienceParam ?? 'audienceParam'} ${JSON.stringify(options.audienceParam)}: use ${AUDIENCE_PARAMS.join(' or ')}`,
    );
  }
}

/**
 * Creates an account: a client (registered dynamically, RFC 7591, or given by hand), then, for refresh
 * accounts, a login (device flow RFC 8628, or authorization code + PKCE on a loopback redirect) whose
 * refresh token is stored encrypted under the account's lock. Client-credentials accounts need no human.
 */
export async function createAccount(options: SetupOptions): Promise<SetupResult> {
  checkSetupOptions(options);
  const clock = options.clock ?? Date.now;
  if (options.mode === 'client-credentials') return setupClientCredentials(options);
  const receiver = options.flow === 'code' ? await startLoopbackReceiver() : undefined;
  try {
    const client = await chooseClient(options, receiver?.redirectUri);
    const request = { scope: options.scope };
    let tokens: TokenResponse;
    if (receiver !== undefined) {
      const login = await beginAuthorizationCodeLogin(client.config, receiver, request, options.ctx);
      await options.onAuthorizationUrl?.(login.authorizationUrl);
      tokens = await login.complete(options.signal);
    } else {
      const authorization = await initiateDeviceAuthorization(client.config, request, options.ctx);
      await options.onDeviceCode?.(authorization);
      tokens = await pollDeviceAuthorization(client.config, authorization, {
        ...options.ctx,
        signal: options.signal,
      });
    }
    if (tokens.refreshToken === undefined) {
      throw new TokenwardenError('OAUTH_ERROR', 'the issuer returned no refresh token', {
        hint: 'ask for the offline_access scope (--scope "... offline_access"), and check the client may use refresh_token',
      });
    }
    const now = new Date(clock()).toISOString();
    const scope = tokens.scope ? tokens.scope.split(' ').filter(Boolean) : [...options.scope];
    const record: AccountRecord = {
      version: 1,
      account: options.account,
      issuer: options.issuer,
      clientId: client.clientId,
      ...(client.clientSecret ? { clientSecret: client.clientSecret } : {}),
      tokenEndpointAuthMethod: client.authMethod,
      refreshToken: tokens.refreshToken,
      scope,
      ...(client.registration ? { registration: client.registration } : {}),
      ...(options.audienceParam ? { audienceParam: options.audienceParam } : {}),
      createdAt: now,
      updatedAt: now,
    };
    await options.store.withLock(options.account, () => options.store.save(record));
    return {
      account: options.account,
      issuer: options.issuer,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      tokenEndpoint: client.config.serverMetadata().token_endpoint ?? '',
      scope,
      record,
      firstToken: tokens,
    };
  } finally {
    await receiver?.close();
  }
}

async function chooseClient(options: SetupOptions, redirectUri: string | undefined): Promise<ClientChoice> {
  if (options.mode === 'manual') {
    if (!options.clientId) throw new TokenwardenError('USAGE', 'setup --manual needs --client-id');
    const authMethod: ClientAuthMethod = options.clientSecret ? 'client_secret_basic' : 'none';
    const config = await createClient(
      { issuer: options.issuer, clientId: options.clientId, clientSecret: options.clientSecret, authMethod },
      options.ctx,
    );
    return { config, clientId: options.clientId, clientSecret: options.clientSecret, authMethod };
  }
  const grantTypes = redirectUri ? ['authorization_code', 'refresh_token'] : [DEVICE_GRANT, 'refresh_token'];
  const registered = await registerClient(
    options.issuer,
    {
      clientName: `tokenwarden ${options.account}`,
      scope: options.scope,
      grantTypes,
      redirectUris: redirectUri ? [redirectUri] : undefined,
    },
    options.ctx,
  );
  const config = await createClient(
    {
      issuer: options.issuer,
      clientId: registered.clientId,
      clientSecret: registered.clientSecret,
      authMethod: registered.authMethod,
    },
    options.ctx,
  );
  return {
    config,
    clientId: registered.clientId,
    clientSecret: registered.clientSecret,
    authMethod: registered.authMethod,
    registration: {
      ...(registered.registrationClientUri
        ? { registrationClientUri: registered.registrationClientUri }
        : {}),
      ...(registered.registrationAccessToken
        ? { registrationAccessToken: registered.registrationAccessToken }
        : {}),
    },
  };
}

async function setupClientCredentials(options: SetupOptions): Promise<SetupResult> {
  let clientId = options.clientId;
  let clientSecret = options.clientSecret;
  if (clientId === undefined) {
    const registered = await registerClient(
      options.issuer,
      {
        clientName: `tokenwarden ${options.account}`,
        scope: options.scope,
        grantTypes: ['client_credentials'],
      },
      options.ctx,
    );
    clientId = registered.clientId;
    clientSecret = registered.clientSecret;
  }
  if (clientSecret === undefined) {
    throw new TokenwardenError('USAGE', 'a client-credentials account needs a client secret', {
      hint: 'give it with --client-secret-file FILE (or on the prompt)',
    });
  }
  const config = await createClient(
    { issuer: options.issuer, clientId, clientSecret, authMethod: 'client_secret_basic' },
    options.ctx,
  );
  const firstToken = await clientCredentialsGrant(config, { scope: options.scope }, options.ctx);
  return {
    account: options.account,
    issuer: options.issuer,
    clientId,
    clientSecret,
    tokenEndpoint: config.serverMetadata().token_endpoint ?? '',
    scope: firstToken.scope ? firstToken.scope.split(' ').filter(Boolean) : [...options.scope],
    firstToken,
  };
}
