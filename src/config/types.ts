import type { Secret } from '../secret.js';

/** What every `[account NAME]` has. `line` is the line of its section header. */
export interface AccountBase {
  name: string;
  line: number;
  issuer?: string;
  audienceParam: 'audience' | 'resource';
  timeoutSeconds: number;
}

/** An account whose refresh token (from `tokenwarden setup`) is stored encrypted with its password file. */
export interface RefreshAccountConfig extends AccountBase {
  kind: 'refresh';
  passwordFile: string;
  credentialFile: string;
}

/** An account that gets tokens by the client credentials grant (RFC 6749 section 4.4). */
export interface ClientCredentialsAccountConfig extends AccountBase {
  kind: 'client_credentials';
  tokenRequestUrl: string;
  clientId: string;
  /** Exactly one of `clientSecret` and `clientSecretFile` is set. */
  clientSecret?: Secret;
  clientSecretFile?: string;
}

export type AccountConfig = RefreshAccountConfig | ClientCredentialsAccountConfig;

/** A `[token NAME]`: one token file to keep fresh. `line` is the line of its section header. */
export interface TokenConfig {
  name: string;
  line: number;
  account: string;
  tokenPath: string;
  audience: string[];
  scope: string[];
  minLifetime: number;
  /** User name or numeric uid, as written (resolved to an id when the file is written). */
  owner?: string;
  /** Group name or numeric gid, as written. */
  group?: string;
  /** Permission bits when set; absent: an existing file keeps its mode, a new one gets 0600. */
  mode?: number;
  newline: boolean;
  grant: 'refresh' | 'exchange';
}

/** The resolved config.ini: validated, defaults filled in, deeply frozen. */
export interface RenewerConfig {
  file: string;
  stateDir: string;
  accounts: ReadonlyMap<string, AccountConfig>;
  /** In file order. */
  tokens: readonly TokenConfig[];
}
