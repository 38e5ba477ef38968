import { isAbsolute } from 'node:path';
import { isValidProviderName } from '../names.js';
import { type ConfigProblem, CredmonConfigError } from './errors.js';
import { parseCondorBool } from './read.js';
import type {
  ClientProviderConfig,
  CredmonConfig,
  LocalProviderConfig,
  OAuth2ProviderConfig,
  ProviderConfig,
} from './types.js';

/** What resolution reads: HTCondor's param() over the configuration, and where each knob was set. */
export interface ParamSource {
  /** The knob fully expanded and trimmed; undefined when unset or empty. May throw on a bad macro. */
  param(name: string): string | undefined;
  /** `FILE:LINE` or `environment (_CONDOR_X)` of the definition, undefined for a default. */
  where(name: string): string | undefined;
  /** Every knob name a file or the environment defines, as written. */
  names(): string[];
}

export interface CredmonOverrides {
  /** `--cred-dir`: wins over SEC_CREDENTIAL_DIRECTORY_OAUTH. */
  credDir?: string | undefined;
  /** `--log-file`: wins over `<DAEMON>_LOG`. */
  logFile?: string | undefined;
}

export interface ResolveOptions {
  /** The daemon name (`--name`, default CREDMON_OAUTH): its log knob is `<NAME>_LOG`. */
  daemonName?: string;
}

/** Defaults of the Python credmon (LocalCredmon.py, ClientCredmon.py, condor_credmon_oauth) and tokenwarden's own. */
export const CREDMON_DEFAULTS = {
  localProviderName: 'scitokens',
  privateKey: '/etc/condor/scitokens-private.pem',
  publicKey: '/etc/condor/scitokens.pem',
  keyId: 'local',
  algorithm: 'ES256',
  authzTemplate: 'read:/user/{username} write:/user/{username}',
  tokenLifetime: 1200,
  tokenVersion: 'scitoken:2.0',
  tokenUseJson: true,
  tokenEndpointLifetime: 3600,
  oauth2ProviderNames: '*',
  credentialRefresh: 300,
  scanInterval: 60,
  renewFraction: 0.5,
} as const;

/** The knobs of a local issuer, read as `LOCAL_CREDMON_<P>_<KNOB>`, then `LOCAL_CREDMON_<KNOB>`. */
export const LOCAL_KNOBS = [
  'PRIVATE_KEY',
  'PUBLIC_KEY',
  'KEY_ID',
  'PRIVATE_KEY_ALGORITHM',
  'ISSUER',
  'AUTHZ_TEMPLATE',
  'AUTHZ_TEMPLATE_EXPR',
  'AUTHZ_GROUP_TEMPLATE',
  'AUTHZ_GROUP_MAPFILE',
  'AUTHZ_GROUP_REQUIREMENT',
  'TOKEN_LIFETIME',
  'TOKEN_AUDIENCE',
  'TOKEN_VERSION',
  'TOKEN_USE_JSON',
] as const;

/** Provider name lists are split on blanks and commas, as the Python credmon splits them (`[\s,]+`). */
export function splitNames(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(/[\s,]+/).filter(Boolean))];
}

/** `Snake_case` to `CamelCase`, as the Python credmon names its default log (`CREDMON_OAUTH` → `CredmonOauth`). */
function camelize(snake: string): string {
  return snake
    .split('_')
    .map((x) => (x ? x[0]?.toUpperCase() + x.slice(1).toLowerCase() : ''))
    .join('');
}

class Resolver {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: string[] = [];
  constructor(private readonly src: ParamSource) {}

  get(name: string): string | undefined {
    try {
      return this.src.param(name);
    } catch (err) {
      if (err instanceof CredmonConfigError) this.problems.push(...err.problems);
      else this.problems.push({ knob: name, where: this.src.where(name), message: (err as Error).message });
      return undefined;
    }
  }

  problem(knob: string | undefined, message: string, hint?: string): void {
    this.problems.push({ knob, where: knob ? this.src.where(knob) : undefined, message, hint });
  }

  warn(knob: string | undefined, message: string): void {
    const where = knob ? this.src.where(knob) : undefined;
    this.warnings.push([where, knob, message].filter(Boolean).join(': '));
  }

  /** The first of `names` that is set: its value and the knob it came from. */
  first(names: string[]): { value: string; knob: string } | undefined {
    for (const knob of names) {
      const value = this.get(knob);
      if (value !== undefined) return { value, knob };
    }
    return undefined;
  }

  bool(knob: string, dflt: boolean): boolean {
    const v = this.get(knob);
    return v === undefined ? dflt : this.parseBool(knob, v, dflt);
  }

  parseBool(knob: string, v: string, dflt: boolean): boolean {
    const b = parseCondorBool(v);
    if (b === undefined) {
      this.problem(knob, `${JSON.stringify(v)} is not a boolean`, 'write true or false');
      return dflt;
    }
    return b;
  }

  int(knob: string, v: string, dflt: number, min = 1): number {
    if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
      this.problem(
        knob,
        `${JSON.stringify(v)} is not a whole number of seconds of at least ${min}`,
        `write e.g. ${dflt}`,
      );
      return dflt;
    }
    return Number(v);
  }

  absolutePath(knob: string, v: string): string {
    if (!isAbsolute(v))
      this.problem(
        knob,
        `${JSON.stringify(v)} is a relative path`,
        'write an absolute path (the credmon runs from any directory)',
      );
    return v;
  }

  url(knob: string, v: string): string {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      this.problem(knob, `${showUrl(v)} is not a URL`, 'write an https:// URL');
      return v;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:')
      this.problem(knob, `${showUrl(v)} is not an http(s) URL`, 'write an https:// URL');
    else if (u.username || u.password)
      this.problem(
        knob,
        'must not hold credentials (user:password@)',
        'put secrets in a file a knob names, not in a URL',
      );
    return v;
  }

  /** A per-provider knob: `<KIND>_CREDMON_<P>_<KNOB>`, then `<KIND>_CREDMON_<KNOB>`. */
  provider(
    kind: 'LOCAL' | 'CLIENT',
    name: string,
    knob: string,
  ): { value: string; knob: string } | undefined {
    return this.first([`${kind}_CREDMON_${name}_${knob}`, `${kind}_CREDMON_${knob}`]);
  }
}

/** A URL for a message: quoted, unless it may hold credentials (`user:password@`), which are never shown. */
function showUrl(v: string): string {
  return v.includes('@') ? 'the URL given (not shown: it may hold credentials)' : JSON.stringify(v);
}

/** The placeholders of a `str.format` template (`{username}`), to refuse the ones the credmon cannot fill. */
function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] as string);
}

function resolveLocal(r: Resolver, name: string, fullHostname: string | undefined): LocalProviderConfig {
  const get = (knob: string) => r.provider('LOCAL', name, knob);
  const named = (knob: string) => get(knob)?.knob ?? `LOCAL_CREDMON_${knob}`;
  const privateKey = get('PRIVATE_KEY');
  const publicKey = get('PUBLIC_KEY');
  const algorithm = get('PRIVATE_KEY_ALGORITHM');
  let alg: 'ES256' | 'RS256' = CREDMON_DEFAULTS.algorithm;
  if (algorithm) {
    const a = algorithm.value.toUpperCase();
    if (a === 'ES256' || a === 'RS256') alg = a;
    else
      r.problem(
        algorithm.knob,
        `unknown algorithm ${JSON.stringify(algorithm.value)}`,
        'write ES256 (the default) or RS256',
      );
  }
  const issuerKnob = get('ISSUER');
  let issuer: string;
  if (issuerKnob) issuer = r.url(issuerKnob.knob, issuerKnob.value);
  else if (fullHostname) issuer = `https://${fullHostname}`;
  else {
    r.problem(
      named('ISSUER'),
      'not set and FULL_HOSTNAME is unknown',
      'set LOCAL_CREDMON_ISSUER = https://HOST',
    );
    issuer = 'https://localhost';
  }
  const template = get('AUTHZ_TEMPLATE');
  const authzTemplate = template?.value ?? CREDMON_DEFAULTS.authzTemplate;
  for (const p of placeholders(authzTemplate))
    if (p !== 'username')
      r.problem(
        template?.knob,
        `the placeholder {${p}} cannot be filled (only {username})`,
        'use {username}, or write the scope out',
      );
  const expr = get('AUTHZ_TEMPLATE_EXPR');
  if (expr)
    r.problem(
      expr.knob,
      'ClassAd expressions for scopes are not supported by tokenwarden',
      'write the scopes in LOCAL_CREDMON_AUTHZ_TEMPLATE with {username}',
    );
  const groupTemplate = get('AUTHZ_GROUP_TEMPLATE');
  if (groupTemplate)
    for (const p of placeholders(groupTemplate.value))
      if (p !== 'groupname')
        r.problem(
          groupTemplate.knob,
          `the placeholder {${p}} cannot be filled (only {groupname})`,
          'use {groupname}',
        );
  const mapfile = get('AUTHZ_GROUP_MAPFILE');
  if (mapfile) r.absolutePath(mapfile.knob, mapfile.value);
  const requirement = get('AUTHZ_GROUP_REQUIREMENT');
  if (groupTemplate && !mapfile)
    r.warn(groupTemplate.knob, `no group scopes will be added: ${named('AUTHZ_GROUP_MAPFILE')} is not set`);
  if (requirement && !mapfile)
    r.problem(
      requirement.knob,
      `requires group membership but ${named('AUTHZ_GROUP_MAPFILE')} is not set, so nobody would get a token`,
      `set ${named('AUTHZ_GROUP_MAPFILE')} to a file of lines "* USER GROUP1,GROUP2"`,
    );
  const lifetime = get('TOKEN_LIFETIME');
  const lifetimeSeconds = lifetime
    ? r.int(lifetime.knob, lifetime.value, CREDMON_DEFAULTS.tokenLifetime)
    : CREDMON_DEFAULTS.tokenLifetime;
  const audienceKnob = get('TOKEN_AUDIENCE');
  const audience = (audienceKnob?.value ?? '').split(/\s+/).filter(Boolean);
  const version = get('TOKEN_VERSION');
  const tokenVersion = version?.value ?? CREDMON_DEFAULTS.tokenVersion;
  if (tokenVersion.toLowerCase() === 'scitoken:2.0' && audience.length === 0)
    r.problem(
      named('TOKEN_AUDIENCE'),
      `not set, but provider ${name} makes scitoken:2.0 tokens, which must have an audience (the Python credmon writes no token at all then)`,
      `set ${named('TOKEN_AUDIENCE')} = https://your.storage.example (blank-separated), or LOCAL_CREDMON_TOKEN_VERSION = wlcg`,
    );
  const useJson = get('TOKEN_USE_JSON');
  const keyId = get('KEY_ID');
  if (keyId && /\s/.test(keyId.value)) r.problem(keyId.knob, 'a key id cannot contain blanks');
  return {
    kind: 'local',
    name,
    privateKeyPath: privateKey
      ? r.absolutePath(privateKey.knob, privateKey.value)
      : CREDMON_DEFAULTS.privateKey,
    publicKeyPath: publicKey ? r.absolutePath(publicKey.knob, publicKey.value) : CREDMON_DEFAULTS.publicKey,
    keyId: keyId?.value ?? CREDMON_DEFAULTS.keyId,
    algorithm: alg,
    issuer,
    authzTemplate,
    authzGroupTemplate: groupTemplate?.value,
    authzGroupMapfile: mapfile?.value,
    authzGroupRequirement: requirement?.value,
    lifetimeSeconds,
    audience,
    tokenVersion,
    useJson: useJson ? r.parseBool(useJson.knob, useJson.value, true) : CREDMON_DEFAULTS.tokenUseJson,
  };
}

function resolveClient(r: Resolver, name: string, fullHostname: string | undefined): ClientProviderConfig {
  const get = (knob: string) => r.provider('CLIENT', name, knob);
  const named = (knob: string) => `CLIENT_CREDMON_${name}_${knob}`;
  const clientId = get('CLIENT_ID');
  if (!clientId)
    r.problem(
      named('CLIENT_ID'),
      `not set: client-credentials provider ${name} needs a client id`,
      `set ${named('CLIENT_ID')} (or CLIENT_CREDMON_CLIENT_ID)`,
    );
  const secretFile = get('CLIENT_SECRET_FILE');
  if (!secretFile)
    r.problem(
      named('CLIENT_SECRET_FILE'),
      `not set: client-credentials provider ${name} needs a file holding its client secret`,
      `set ${named('CLIENT_SECRET_FILE')} to a root-owned file of mode 0600`,
    );
  else r.absolutePath(secretFile.knob, secretFile.value);
  const tokenUrl = get('TOKEN_URL');
  const issuerKnob = get('ISSUER');
  const issuer = issuerKnob
    ? r.url(issuerKnob.knob, issuerKnob.value)
    : fullHostname
      ? `https://${fullHostname}`
      : undefined;
  if (!tokenUrl && !issuer)
    r.problem(
      named('TOKEN_URL'),
      `not set, and no issuer to discover it from`,
      `set ${named('TOKEN_URL')} or ${named('ISSUER')}`,
    );
  const template = get('AUTHZ_TEMPLATE');
  const authzTemplate = template?.value ?? CREDMON_DEFAULTS.authzTemplate;
  for (const p of placeholders(authzTemplate))
    if (p !== 'username')
      r.problem(template?.knob, `the placeholder {${p}} cannot be filled (only {username})`);
  const groupTemplate = get('AUTHZ_GROUP_TEMPLATE');
  const mapfile = get('AUTHZ_GROUP_MAPFILE');
  if (mapfile) r.absolutePath(mapfile.knob, mapfile.value);
  const audience = (get('TOKEN_AUDIENCE')?.value ?? '').split(/\s+/).filter(Boolean);
  const lifetime = get('TOKEN_LIFETIME');
  const endpointLifetime = get('TOKEN_ENDPOINT_LIFETIME');
  const useJson = get('TOKEN_USE_JSON');
  return {
    kind: 'client',
    name,
    clientId: clientId?.value ?? '',
    clientSecretFile: secretFile?.value ?? '',
    tokenUrl: tokenUrl ? r.url(tokenUrl.knob, tokenUrl.value) : undefined,
    issuer,
    scopes: authzTemplate.split(/\s+/).filter(Boolean),
    audience,
    lifetimeSeconds: lifetime
      ? r.int(lifetime.knob, lifetime.value, CREDMON_DEFAULTS.tokenLifetime)
      : undefined,
    useJson: useJson ? r.parseBool(useJson.knob, useJson.value, true) : CREDMON_DEFAULTS.tokenUseJson,
    authzTemplate,
    authzGroupTemplate: groupTemplate?.value,
    authzGroupMapfile: mapfile?.value,
    tokenVersion: get('TOKEN_VERSION')?.value ?? CREDMON_DEFAULTS.tokenVersion,
    tokenEndpointLifetimeSeconds: endpointLifetime
      ? r.int(endpointLifetime.knob, endpointLifetime.value, CREDMON_DEFAULTS.tokenEndpointLifetime)
      : CREDMON_DEFAULTS.tokenEndpointLifetime,
  };
}

/** Knob names that end in `_CLIENT_ID` but belong to another credmon, never an OAuth2 provider's. */
const NOT_OAUTH2_RE =
  /^(LOCAL_CREDMON_|CLIENT_CREDMON_|PELICAN_CREDMON_|VAULT_CREDMON_)|_PELICAN_CLIENT_ID$/i;

function resolveOAuth2(
  r: Resolver,
  src: ParamSource,
  allowed: '*' | string[],
  allowSpecial: boolean,
): OAuth2ProviderConfig[] {
  const seen = new Map<string, OAuth2ProviderConfig>();
  for (const knobName of src.names()) {
    // `CREDMON_OAUTH.X_CLIENT_ID` (subsystem-prefixed) names provider X too.
    const bare = knobName.includes('.') ? knobName.slice(knobName.lastIndexOf('.') + 1) : knobName;
    const m = /^(.+)_CLIENT_ID$/i.exec(bare);
    if (!m || NOT_OAUTH2_RE.test(bare)) continue;
    const name = m[1] as string;
    if (seen.has(name.toUpperCase())) continue;
    if (!isValidProviderName(name, allowSpecial)) continue;
    if (allowed !== '*' && !allowed.some((a) => a.toUpperCase() === name.toUpperCase())) continue;
    const clientId = r.get(`${name}_CLIENT_ID`);
    if (clientId === undefined) continue;
    const opt = (suffix: string) => r.get(`${name}_${suffix}`);
    const urlOpt = (suffix: string) => {
      const v = opt(suffix);
      return v === undefined ? undefined : r.url(`${name}_${suffix}`, v);
    };
    const secretFile = opt('CLIENT_SECRET_FILE');
    if (secretFile === undefined)
      r.warn(
        `${name}_CLIENT_ID`,
        `${name}_CLIENT_SECRET_FILE is not set: provider ${name} is refreshed as a public client (no secret)`,
      );
    else r.absolutePath(`${name}_CLIENT_SECRET_FILE`, secretFile);
    const suffix = opt('RETURN_URL_SUFFIX') ?? `/return/${name.toLowerCase()}`;
    if (!suffix.startsWith('/'))
      r.problem(
        `${name}_RETURN_URL_SUFFIX`,
        `${JSON.stringify(suffix)} must start with "/"`,
        `write /return/${name.toLowerCase()}`,
      );
    seen.set(name.toUpperCase(), {
      kind: 'oauth2',
      name,
      clientId,
      clientSecretFile: secretFile,
      authorizationUrl: urlOpt('AUTHORIZATION_URL'),
      tokenUrl: urlOpt('TOKEN_URL'),
      issuer: urlOpt('ISSUER'),
      returnUrlSuffix: suffix,
      userUrl: urlOpt('USER_URL'),
    });
  }
  return [...seen.values()];
}

/**
 * Resolves the credmon's configuration from HTCondor's knobs (docs/credmon-config.md lists each, its
 * default and lookup order) and checks all of it before anything is touched: every problem is collected
 * and thrown together as one CredmonConfigError (exit 99), each naming its knob and where it was set.
 * `fullHostname` is HTCondor's FULL_HOSTNAME, for the default issuers.
 */
/** A path given on the command line must be absolute: the master starts the credmon from its own cwd. */
function requireAbsoluteOption(r: Resolver, option: string, path: string): void {
  if (!isAbsolute(path))
    r.problems.push({
      knob: option,
      where: undefined,
      message: `${JSON.stringify(path)} is a relative path`,
      hint: 'give an absolute path',
    });
}

export function resolveCredmonConfig(
  src: ParamSource,
  overrides: CredmonOverrides = {},
  opts: ResolveOptions = {},
): { config: CredmonConfig; warnings: string[] } {
  const r = new Resolver(src);
  const daemon = (opts.daemonName ?? 'CREDMON_OAUTH').toUpperCase();
  const fullHostname = r.get('FULL_HOSTNAME');

  // The credential directory.
  let credDir = overrides.credDir;
  if (credDir !== undefined) {
    requireAbsoluteOption(r, '--cred-dir', credDir);
  } else {
    const found = r.first(['SEC_CREDENTIAL_DIRECTORY_OAUTH', 'SEC_CREDENTIAL_DIRECTORY']);
    if (!found)
      r.problem(
        'SEC_CREDENTIAL_DIRECTORY_OAUTH',
        'not set: the credmon does not know its credential directory',
        'add "use feature : OAUTH" to the configuration, set SEC_CREDENTIAL_DIRECTORY_OAUTH, or pass --cred-dir',
      );
    else credDir = r.absolutePath(found.knob, found.value);
  }

  // The log.
  let logFile = overrides.logFile;
  if (logFile !== undefined) {
    requireAbsoluteOption(r, '--log-file', logFile);
  } else {
    const log = r.get(`${daemon}_LOG`);
    if (log !== undefined) logFile = r.absolutePath(`${daemon}_LOG`, log);
    else if (src.where('LOG') !== undefined) {
      const dir = r.get('LOG');
      if (dir !== undefined)
        logFile = `${r.absolutePath('LOG', dir).replace(/\/$/, '')}/${camelize(daemon)}Log`;
    }
  }

  const allowSpecialCharNames = r.bool('CREDMON_ALLOW_SPECIAL_CHAR_NAMES', false);
  const trustCredentialDirectory = r.bool('TRUST_CREDENTIAL_DIRECTORY', false);
  const refresh = r.get('SEC_CREDENTIAL_REFRESH');
  const credentialRefreshSeconds = refresh
    ? r.int('SEC_CREDENTIAL_REFRESH', refresh, CREDMON_DEFAULTS.credentialRefresh)
    : CREDMON_DEFAULTS.credentialRefresh;
  const scan = r.get('CREDMON_SCAN_INTERVAL');
  const scanIntervalSeconds = scan
    ? r.int('CREDMON_SCAN_INTERVAL', scan, CREDMON_DEFAULTS.scanInterval)
    : CREDMON_DEFAULTS.scanInterval;
  const fractionText = r.get('CREDMON_RENEW_FRACTION');
  let renewFraction: number = CREDMON_DEFAULTS.renewFraction;
  if (fractionText !== undefined) {
    const f = Number(fractionText);
    if (!/^\d*\.?\d+$/.test(fractionText) || !(f > 0 && f < 1))
      r.problem(
        'CREDMON_RENEW_FRACTION',
        `${JSON.stringify(fractionText)} is not a fraction between 0 and 1`,
        'write e.g. 0.5 (renew when half the lifetime is gone)',
      );
    else renewFraction = f;
  }

  let webPrefix = r.get('CREDMON_WEB_PREFIX');
  if (webPrefix === undefined && fullHostname !== undefined) {
    // What the CredD puts in the key files' ReturnUrl when the knob is unset (credd.cpp).
    webPrefix = `https://${fullHostname}`;
  } else if (webPrefix !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(webPrefix);
    } catch {
      r.problem(
        'CREDMON_WEB_PREFIX',
        `${showUrl(webPrefix)} is not a URL`,
        'write https://HOST[/PATH], without a trailing /',
      );
    }
    if (u) {
      if (u.protocol !== 'https:' && u.protocol !== 'http:')
        r.problem(
          'CREDMON_WEB_PREFIX',
          `${showUrl(webPrefix)} is not an http(s) URL`,
          'write https://HOST[/PATH]',
        );
      else if (u.search || u.hash || u.username || u.password)
        r.problem(
          'CREDMON_WEB_PREFIX',
          'must not hold a query, a fragment or credentials',
          'write https://HOST[/PATH]',
        );
      if (webPrefix.endsWith('/')) {
        r.warn(
          'CREDMON_WEB_PREFIX',
          'ends with "/": read without it (return URLs are the prefix followed by /return/...)',
        );
        webPrefix = webPrefix.replace(/\/+$/, '');
      }
    }
  }

  // Which providers each credmon handles.
  const localNames = splitNames(r.get('LOCAL_CREDMON_PROVIDER_NAMES'));
  const singleLocal = r.get('LOCAL_CREDMON_PROVIDER_NAME');
  let localList =
    localNames.length > 0 ? localNames : singleLocal !== undefined ? splitNames(singleLocal) : [];
  let localListKnob = localNames.length > 0 ? 'LOCAL_CREDMON_PROVIDER_NAMES' : 'LOCAL_CREDMON_PROVIDER_NAME';
  if (localList.length === 0) {
    // The Python credmon always runs a local issuer named `scitokens`; here it runs when the site
    // configured one (a LOCAL_CREDMON_[SCITOKENS_]<KNOB> of LOCAL_KNOBS), so a site without a local issuer gets no errors about it.
    const knobs = new Set<string>(LOCAL_KNOBS);
    const configured = src.names().find((n) => {
      const m = /^LOCAL_CREDMON_(?:SCITOKENS_)?(.+)$/i.exec(n);
      return m !== null && knobs.has((m[1] as string).toUpperCase());
    });
    if (configured) {
      localList = [CREDMON_DEFAULTS.localProviderName];
      localListKnob = 'LOCAL_CREDMON_PROVIDER_NAME';
      r.warn(
        configured,
        `local issuer "${CREDMON_DEFAULTS.localProviderName}" enabled by default (LOCAL_CREDMON_PROVIDER_NAMES is not set)`,
      );
    }
  }
  const oauth2Raw = splitNames(
    r.get('OAUTH2_CREDMON_PROVIDER_NAMES') ?? CREDMON_DEFAULTS.oauth2ProviderNames,
  );
  const oauth2ProviderNames: '*' | string[] =
    oauth2Raw.length === 0 || oauth2Raw.includes('*') ? '*' : oauth2Raw;
  const clientList = splitNames(r.get('CLIENT_CREDMON_PROVIDER_NAMES'));

  const lists: Array<[string, string, string[]]> = [
    ['local', localListKnob, localList],
    ['oauth2', 'OAUTH2_CREDMON_PROVIDER_NAMES', oauth2Raw],
    ['client', 'CLIENT_CREDMON_PROVIDER_NAMES', clientList],
  ];
  const owner = new Map<string, string>();
  for (const [kind, knob, names] of lists) {
    for (const n of names) {
      if (n === '*') continue;
      if (!isValidProviderName(n, allowSpecialCharNames)) {
        r.problem(
          knob,
          `provider name ${JSON.stringify(n)} has characters other than letters, digits and "-"`,
          'rename the provider, or set CREDMON_ALLOW_SPECIAL_CHAR_NAMES = true (which turns off handles)',
        );
        continue;
      }
      const prev = owner.get(n);
      if (prev !== undefined && prev !== kind)
        r.warn(knob, `provider ${n} is named by both the ${prev} and the ${kind} credmon; continuing anyway`);
      else owner.set(n, kind);
    }
  }

  const validLocal = localList.filter((n) => isValidProviderName(n, allowSpecialCharNames));
  const validClient = clientList.filter((n) => isValidProviderName(n, allowSpecialCharNames));
  const local = validLocal.map((n) => resolveLocal(r, n, fullHostname));
  const client = validClient.map((n) => resolveClient(r, n, fullHostname));
  const oauth2 = resolveOAuth2(r, src, oauth2ProviderNames, allowSpecialCharNames);

  if (r.problems.length > 0) throw new CredmonConfigError(r.problems);
  return {
    config: {
      credDir: credDir as string,
      logFile,
      allowSpecialCharNames,
      trustCredentialDirectory,
      credentialRefreshSeconds,
      scanIntervalSeconds,
      renewFraction,
      webPrefix,
      oauth2ProviderNames,
      oauth2,
      local,
      client,
    },
    warnings: r.warnings,
  };
}

/** Every provider of a resolved configuration, local issuers first (the order the scan loop tries them). */
export function allProviders(config: CredmonConfig): ProviderConfig[] {
  return [...config.local, ...config.client, ...config.oauth2];
}

/**
 * The provider configuration that handles credentials of provider `provider` (the part of a credential
 * name before the first `_`, as found on disk), as the Python credmons pick them: a local issuer or a
 * client-credentials provider by its exact name (they glob `<name>.top`); an OAuth2 provider when
 * `provider` is in OAUTH2_CREDMON_PROVIDER_NAMES (exactly, or the list is `*`) and `<provider>_CLIENT_ID`
 * is set (knob names are case-insensitive). Local issuers first, then client credentials, then OAuth2.
 */
export function findProviderConfig(config: CredmonConfig, provider: string): ProviderConfig | undefined {
  const local = config.local.find((p) => p.name === provider);
  if (local) return local;
  const client = config.client.find((p) => p.name === provider);
  if (client) return client;
  if (config.oauth2ProviderNames !== '*' && !config.oauth2ProviderNames.includes(provider)) return undefined;
  return config.oauth2.find((p) => p.name.toUpperCase() === provider.toUpperCase());
}
