import type { TokenwardenError } from '../errors.js';
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

/**
 * A semantic error in one section (unknown option, bad value, missing account ...): it fails the tokens
 * that depend on that section, not the whole config. `error` has the one-line message
 * `FILE line N: Config for [SECTION]: ...`; `kind` is undefined for a header that is neither kind.
 */
export interface ConfigProblem {
  kind: 'account' | 'token' | undefined;
  /** The NAME of `[kind NAME]`, or the whole header when it is neither kind. */
  name: string;
  line: number;
  error: TokenwardenError;
}

/**
 * A `[token]` that cannot be renewed because its own section, or the section of its account, is broken.
 * `account` and `tokenPath` are what the section says, when it says it.
 */
export interface BrokenToken {
  name: string;
  line: number;
  account?: string | undefined;
  tokenPath?: string | undefined;
  error: TokenwardenError;
}

/** Where warnings are posted (`webhook_url`, `webhook_timeout` of `[DEFAULT]`). */
export interface WebhookConfig {
  /** The whole URL is a secret: a webhook URL often carries a token in its path or query. */
  url: Secret;
  timeoutSeconds: number;
}

/** The resolved config.ini: validated, defaults filled in, deeply frozen. */
export interface RenewerConfig {
  file: string;
  stateDir: string;
  /** Set when `webhook_url` is. */
  webhook?: WebhookConfig;
  /** Only accounts whose section is sound. */
  accounts: ReadonlyMap<string, AccountConfig>;
  /** Only tokens that can be renewed (sound section, sound account), in file order. */
  tokens: readonly TokenConfig[];
  /** Every semantic problem found, in file order; empty when the whole file is sound. */
  problems: readonly ConfigProblem[];
  /** Accounts whose section is broken, with the error their tokens fail with. */
  brokenAccounts: ReadonlyMap<string, TokenwardenError>;
  /** Tokens broken by a problem (their own section's or their account's), in file order. */
  brokenTokens: readonly BrokenToken[];
}
