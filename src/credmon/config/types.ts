/**
 * The credmon's configuration, resolved from HTCondor's configuration (condor_config, its includes and
 * `_CONDOR_<KNOB>` overrides) and the command line, validated once at start, before any side effect.
 * Plain data: the scan loop, the providers and the web app read it and nothing else, so tests build one
 * directly. Knob names in the comments are HTCondor's; for per-provider knobs the lookup order is
 * `<KIND>_CREDMON_<PROVIDER>_<KNOB>`, then `<KIND>_CREDMON_<KNOB>`, then the default.
 */

/** A local-issuer provider (`LOCAL_CREDMON_PROVIDER_NAMES`, or the single `LOCAL_CREDMON_PROVIDER_NAME`). */
export interface LocalProviderConfig {
  kind: 'local';
  /** The provider (service) name: `.top` files named `<name>[_<handle>].top` are its credentials. */
  name: string;
  /** `PRIVATE_KEY` (default /etc/condor/scitokens-private.pem). */
  privateKeyPath: string;
  /** `PUBLIC_KEY` (default /etc/condor/scitokens.pem). */
  publicKeyPath: string;
  /** `KEY_ID` (default `local`): the JWS `kid`. */
  keyId: string;
  /** `PRIVATE_KEY_ALGORITHM` (default ES256). */
  algorithm: 'ES256' | 'RS256';
  /** `ISSUER` (default `https://<FULL_HOSTNAME>`). */
  issuer: string;
  /** `AUTHZ_TEMPLATE` (default `read:/user/{username} write:/user/{username}`). */
  authzTemplate: string;
  /** `AUTHZ_GROUP_TEMPLATE`: one scope per group of the user, `{groupname}` expanded. */
  authzGroupTemplate: string | undefined;
  /** `AUTHZ_GROUP_MAPFILE`: lines `* <user> <group1>,<group2>`. */
  authzGroupMapfile: string | undefined;
  /** `AUTHZ_GROUP_REQUIREMENT`: only members of this group get a token. */
  authzGroupRequirement: string | undefined;
  /** `TOKEN_LIFETIME` in seconds (default 1200). */
  lifetimeSeconds: number;
  /** `TOKEN_AUDIENCE`, split on blanks (a JSON array in the token). */
  audience: string[];
  /**
   * `TOKEN_VERSION` (default `scitoken:2.0`): `wlcg` or `wlcg:1.0` gives `wlcg.ver: "1.0"`; any other
   * non-empty value is the `ver` claim; empty gives neither. `scitoken:2.0` without an audience is
   * refused at start.
   */
  tokenVersion: string;
  /** `TOKEN_USE_JSON` (default true): `.use` is `{"access_token","expires_in"}`, else `<JWT>\n`. */
  useJson: boolean;
}

/** An OAuth2 provider: every `<P>` with `<P>_CLIENT_ID` set, among `OAUTH2_CREDMON_PROVIDER_NAMES` (default `*`). */
export interface OAuth2ProviderConfig {
  kind: 'oauth2';
  name: string;
  /** `<P>_CLIENT_ID` */
  clientId: string;
  /** `<P>_CLIENT_SECRET_FILE`: read when needed; the secret never goes into `.meta`. */
  clientSecretFile: string | undefined;
  /** `<P>_AUTHORIZATION_URL` (the web app's login). */
  authorizationUrl: string | undefined;
  /** `<P>_TOKEN_URL` */
  tokenUrl: string | undefined;
  /** `<P>_ISSUER`, when set: discovery gives the endpoints not configured. */
  issuer: string | undefined;
  /** `<P>_RETURN_URL_SUFFIX` (default `/return/<p>`): the redirect URI is `CREDMON_WEB_PREFIX` + this. */
  returnUrlSuffix: string;
  /** `<P>_USER_URL`, when set (unused by the credmon, kept for the web app). */
  userUrl: string | undefined;
}

/**
 * A client-credentials provider (`CLIENT_CREDMON_PROVIDER_NAMES`); knobs `CLIENT_CREDMON_[<P>_]<KNOB>`.
 * The Python ClientCredmon inherits the local issuer's knobs for what it asks for: the scopes come from
 * `AUTHZ_TEMPLATE` and the audience from `TOKEN_AUDIENCE`.
 */
export interface ClientProviderConfig {
  kind: 'client';
  name: string;
  /** `CLIENT_ID` (required). */
  clientId: string;
  /** `CLIENT_SECRET_FILE` (required): the client secret is read from this file at each request, never copied. */
  clientSecretFile: string;
  /** `TOKEN_URL`, or from the issuer's discovery when absent. */
  tokenUrl: string | undefined;
  /** `ISSUER` (default `https://<FULL_HOSTNAME>`), for discovery when `TOKEN_URL` is absent. */
  issuer: string | undefined;
  /**
   * `AUTHZ_TEMPLATE` split on blanks (default `read:/user/{username} write:/user/{username}`), sent as
   * RFC 6749 `scope=` (space-separated) once `{username}` is filled in for the user.
   */
  scopes: string[];
  /** `TOKEN_AUDIENCE`, split on blanks, sent as `audience=` when set. */
  audience: string[];
  /** `TOKEN_LIFETIME` asked for, when set (also the lifetime assumed when the answer has no `expires_in`). */
  lifetimeSeconds: number | undefined;
  /** `TOKEN_USE_JSON` (default true), as for the local issuer. */
  useJson: boolean;
  /** `AUTHZ_TEMPLATE` as written (what `scopes` is made from). */
  authzTemplate?: string;
  /** `AUTHZ_GROUP_TEMPLATE`: one scope per group of the user, `{groupname}` expanded. */
  authzGroupTemplate?: string | undefined;
  /** `AUTHZ_GROUP_MAPFILE`: lines `* <user> <group1>,<group2>`. */
  authzGroupMapfile?: string | undefined;
  /** `TOKEN_VERSION` (default `scitoken:2.0`): `wlcg`/`wlcg:1.0` adds the `wlcg` scope to the request. */
  tokenVersion?: string;
  /** `TOKEN_ENDPOINT_LIFETIME` (default 3600 s): how long a discovered token endpoint is reused. */
  tokenEndpointLifetimeSeconds?: number;
}

export type ProviderConfig = LocalProviderConfig | OAuth2ProviderConfig | ClientProviderConfig;

export interface CredmonConfig {
  /** `SEC_CREDENTIAL_DIRECTORY_OAUTH`, or `--cred-dir`. */
  credDir: string;
  /**
   * `--log-file`, else `<DAEMON>_LOG` (`CREDMON_OAUTH_LOG`), else `$(LOG)/<Daemon>Log` when `LOG` is
   * configured; undefined logs to standard error only.
   */
  logFile: string | undefined;
  /** `CREDMON_ALLOW_SPECIAL_CHAR_NAMES` (default false): no handles, any credential name is a provider. */
  allowSpecialCharNames: boolean;
  /** `TRUST_CREDENTIAL_DIRECTORY` (what the shadow and starter assume of the directory). */
  trustCredentialDirectory: boolean;
  /** `SEC_CREDENTIAL_REFRESH` (default 300 s): how often the starter pulls a fresh `.use`. */
  credentialRefreshSeconds: number;
  /** `CREDMON_SCAN_INTERVAL` (tokenwarden's): full rescan period when nothing signals (default 60 s, as the Python credmon sleeps). */
  scanIntervalSeconds: number;
  /** `CREDMON_RENEW_FRACTION` (tokenwarden's): fraction of an access token's lifetime after which it is renewed (default 0.5). */
  renewFraction: number;
  /**
   * `CREDMON_WEB_PREFIX`: the public base URL of the login web app (e.g. `https://ap.example.org`), no
   * trailing `/`; unset, `https://<FULL_HOSTNAME>` as the CredD assumes (undefined only when the host
   * name is unknown).
   */
  webPrefix: string | undefined;
  /** `OAUTH2_CREDMON_PROVIDER_NAMES` (default `*`): which providers the OAuth2 monitor may refresh. */
  oauth2ProviderNames: '*' | string[];
  /** Every OAuth2 provider with `<P>_CLIENT_ID` set, by name. */
  oauth2: OAuth2ProviderConfig[];
  local: LocalProviderConfig[];
  client: ClientProviderConfig[];
}
