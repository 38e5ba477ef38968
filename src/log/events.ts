/**
 * The events tokenwarden's parts report, as data: a `type` naming what happened, a `level`, and plain
 * fields (strings and numbers, never a Secret, never a token). Parts emit them into a `Log`
 * (`log.ts`); one subscriber turns them into lines, redacts them and writes them to its sinks. The
 * field names are the keys printed in the line (`renewal.failed token=vo-read account=vo code=NETWORK`),
 * so they are short, lower case, and snake_case where they need two words. Durations (`expires_in`,
 * `retry_in`) are whole seconds from the event. `note` is a few words for the person reading the journal
 * (what happens next), the same in every such event.
 */

/** How much an event matters; journald gets the matching syslog priority. */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/** One value of a field; undefined fields are left out of the line. */
export type LogValue = string | number | boolean | undefined;

/** The levels in increasing order of importance. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error'];

/** A long-running service has started: its configuration is loaded and its tokens are scheduled. */
export interface DaemonStartedEvent {
  type: 'daemon.started';
  level: 'info';
  config: string;
  tokens: number;
  accounts: number;
  /** Broken `[token]` sections, reported and skipped (left out when there are none). */
  broken?: number | undefined;
  pid: number;
}

/** Its HTTP side listens: the status page at `url`, Prometheus metrics at `metrics`. */
export interface DaemonServingEvent {
  type: 'daemon.serving';
  level: 'info';
  url: string;
  metrics: string;
}

/** SIGHUP received: the configuration is being loaded again. */
export interface DaemonReloadingEvent {
  type: 'daemon.reloading';
  level: 'info';
  reason: string;
}

/** SIGHUP: the new configuration is in force. */
export interface DaemonReloadedEvent {
  type: 'daemon.reloaded';
  level: 'info';
  config: string;
  tokens: number;
  /** How many tokens the new configuration added, removed and changed (when the service compares). */
  added?: number | undefined;
  removed?: number | undefined;
  changed?: number | undefined;
}

/** SIGHUP with a configuration that does not load: the old one keeps running. */
export interface DaemonReloadRefusedEvent {
  type: 'daemon.reload-refused';
  level: 'error';
  config: string;
  code: string;
  message: string;
  hint?: string | undefined;
  /** What happens instead (the configuration in force before keeps running). */
  note?: string | undefined;
}

/** SIGTERM or SIGINT: nothing new starts, the work in flight finishes. */
export interface DaemonStoppingEvent {
  type: 'daemon.stopping';
  level: 'info';
  reason: string;
  /** Renewals still running, when the service counts them. */
  in_flight?: number | undefined;
  note?: string | undefined;
}

/** A second SIGTERM or SIGINT while stopping: it is still finishing the work in flight. */
export interface DaemonStopRepeatedEvent {
  type: 'daemon.stop-repeated';
  level: 'warning';
  reason: string;
  note?: string | undefined;
}

/** The service has finished its work in flight and closed everything. */
export interface DaemonStoppedEvent {
  type: 'daemon.stopped';
  level: 'info';
  reason: string;
}

/** Something a service noticed that a person may want to act on (an unreadable file, a token issued short). */
export interface DaemonWarningEvent {
  type: 'daemon.warning';
  level: 'warning';
  message: string;
}

/** A configuration or secret file was loaded with something to mend (a group-readable password file…). */
export interface ConfigWarningEvent {
  type: 'config.warning';
  level: 'warning';
  file: string;
  message: string;
  hint?: string | undefined;
}

/** A token was renewed and written. Times are in seconds from now. */
export interface RenewalSucceededEvent {
  type: 'renewal.succeeded';
  level: 'info';
  token: string;
  account: string;
  expires_in?: number | undefined;
  next_renewal_in?: number | undefined;
}

/**
 * A renewal failed. `attempt` counts the failures in a row; `retry_in` says when it is tried again
 * (seconds), and is absent when it is not: its account waits for a person (`account.blocked`,
 * `account.needs-login`).
 */
export interface RenewalFailedEvent {
  type: 'renewal.failed';
  level: 'warning';
  token: string;
  account: string;
  code: string;
  message: string;
  hint?: string | undefined;
  attempt?: number | undefined;
  retry_in?: number | undefined;
}

/** The issuer refused the account's refresh token: a person must log in again. */
export interface AccountNeedsLoginEvent {
  type: 'account.needs-login';
  level: 'error';
  account: string;
  message: string;
  hint?: string | undefined;
  /** What makes the service try the account again (a service that watches its credential says so). */
  note?: string | undefined;
}

/**
 * An account that only a person can mend (no credential yet, a password that does not decrypt it): its
 * tokens are not tried again until what `note` says happens.
 */
export interface AccountBlockedEvent {
  type: 'account.blocked';
  level: 'error';
  account: string;
  code: string;
  message: string;
  hint?: string | undefined;
  note?: string | undefined;
}

/** A blocked account's credential or password file changed: its tokens are renewed again. */
export interface AccountResumedEvent {
  type: 'account.resumed';
  level: 'info';
  account: string;
}

/**
 * The account's refresh token expires (by the issuer's word) within the warning window (7 days): logged
 * once when that starts, not at every renewal; `hint` says how to give it a new one before then.
 */
export interface AccountRefreshTokenExpiringEvent {
  type: 'account.refresh-token-expiring';
  level: 'warning';
  account: string;
  /** ISO 8601, UTC. */
  expires_at: string;
  expires_in: number;
  hint?: string | undefined;
}

/**
 * A warning could not be delivered to the webhook: `failed` after its retries, `dropped` when too many
 * were waiting. `target` is the URL's `scheme://host` only (the rest of it may be a secret).
 */
export interface WebhookFailedEvent {
  type: 'webhook.failed' | 'webhook.dropped';
  level: 'warning';
  target: string;
  kind: string;
  group: string;
  attempt?: number | undefined;
  reason?: string | undefined;
}

/** One answered HTTP request. `route` is the route's pattern, never the raw URL (a query may hold a secret). */
export interface HttpRequestEvent {
  type: 'http.request';
  level: 'debug';
  method: string;
  route: string;
  status: number;
  ms: number;
}

/** A request answered with a server error (5xx): what went wrong, without a stack. */
export interface HttpErrorEvent {
  type: 'http.error';
  level: 'error';
  method: string;
  route: string;
  status: number;
  code: string;
  message: string;
}

/** The credmon's login web app stored the tokens of a finished login (`refresh`: a refresh token came too). */
export interface CredmonLoginStoredEvent {
  type: 'credmon.login-stored';
  level: 'info';
  user: string;
  cred: string;
  refresh: boolean;
}

/** The credmon's login web app refused a request or a login failed: why, for whom when known, no secret. */
export interface CredmonLoginFailedEvent {
  type: 'credmon.login-failed';
  level: 'warning';
  user?: string | undefined;
  cred?: string | undefined;
  code: string;
  message: string;
}

/** `tokenwarden issuer serve` listens: discovery and JWKS of `issuer` at `url`, with `keys` keys. */
export interface IssuerServingEvent {
  type: 'issuer.serving';
  level: 'info';
  url: string;
  issuer: string;
  keys: number;
}

/** `tokenwarden issuer serve` stopped (a stop signal). */
export interface IssuerStoppedEvent {
  type: 'issuer.stopped';
  level: 'info';
  signal: string;
}

/**
 * The per-user agent's events. Their names predate the dotted scheme and are kept, so that agent.log
 * reads as it always has (`account-added account=vo issuer=…`). Their fields vary per event.
 */
export type AgentEventType =
  | 'start'
  | 'stop'
  | 'stopping'
  | 'stop-repeated'
  | 'account-added'
  | 'account-reloaded'
  | 'account-removed'
  | 'account-expired'
  | 'add-failed'
  | 'refresh-failed'
  | 'needs-login'
  | 'bearer-file-failed'
  | 'internal-error';

export interface AgentEvent {
  type: AgentEventType;
  level: LogLevel;
  readonly [field: string]: LogValue;
}

/**
 * The credential monitor (`tokenwarden credmon`, HTCondor's credential directory). `user` is the user's
 * directory, `cred` the credential name (`<provider>[_<handle>]`), `provider` the provider it maps to.
 */
export interface CredmonStartedEvent {
  type: 'credmon.started';
  level: 'info';
  cred_dir: string;
  /** The providers it serves, by kind: `oauth2=2 local=1 client=0`. */
  providers: string;
  pid: number;
}

/** One credential renewed: its `.use` written. Times in seconds from now. */
export interface CredmonRenewedEvent {
  type: 'credmon.renewed';
  level: 'info';
  user: string;
  cred: string;
  provider: string;
  expires_in?: number | undefined;
  next_renewal_in?: number | undefined;
}

/** One credential could not be renewed; retried after `retry_in` seconds (absent: not retried). */
export interface CredmonFailedEvent {
  type: 'credmon.failed';
  level: 'warning';
  user: string;
  cred: string;
  provider: string;
  code: string;
  message: string;
  hint?: string | undefined;
  attempt?: number | undefined;
  retry_in?: number | undefined;
  note?: string | undefined;
}

/** The issuer refused the refresh token of a `.top`: the user must log in again (condor_submit). */
export interface CredmonNeedsLoginEvent {
  type: 'credmon.needs-login';
  level: 'error';
  user: string;
  cred: string;
  provider: string;
  message: string;
  note?: string | undefined;
}

/**
 * Something in the credential directory is skipped (a bad name, a symlink, an oversized or unreadable
 * file, a credential of no configured provider): logged once per thing and reason, until it changes.
 */
export interface CredmonSkippedEvent {
  type: 'credmon.skipped';
  level: 'warning';
  path: string;
  reason: string;
  user?: string | undefined;
  cred?: string | undefined;
}

/** A full pass over the credential directory finished (`CREDMON_COMPLETE` touched). */
export interface CredmonScannedEvent {
  type: 'credmon.scanned';
  level: 'debug';
  credentials: number;
  due: number;
  ms: number;
}

/** A CredD key file older than 12 hours was removed (a login that was never finished). */
export interface CredmonKeyFileRemovedEvent {
  type: 'credmon.key-file-removed';
  level: 'info';
  file: string;
}

/** Something about the credmon itself a person may want to act on (a `.meta` rewritten without its secret). */
export interface CredmonWarningEvent {
  type: 'credmon.warning';
  level: 'warning';
  message: string;
  user?: string | undefined;
  cred?: string | undefined;
}

/** SIGTERM, SIGINT or SIGQUIT: nothing new starts; `stopped` once the work in flight is done. */
export interface CredmonStoppingEvent {
  type: 'credmon.stopping' | 'credmon.stopped';
  level: 'info';
  reason: string;
  in_flight?: number | undefined;
}

/** SIGHUP: the credential directory is scanned now. */
export interface CredmonRescanEvent {
  type: 'credmon.rescan';
  level: 'debug';
  reason: string;
}

/** The credmon's login web app listens at `url` (`--web-listen`). */
export interface CredmonWebServingEvent {
  type: 'credmon.web-serving';
  level: 'info';
  url: string;
}

export type CredmonEvent =
  | CredmonWebServingEvent
  | CredmonStartedEvent
  | CredmonRenewedEvent
  | CredmonFailedEvent
  | CredmonNeedsLoginEvent
  | CredmonSkippedEvent
  | CredmonScannedEvent
  | CredmonKeyFileRemovedEvent
  | CredmonWarningEvent
  | CredmonStoppingEvent
  | CredmonRescanEvent;

export type LogEvent =
  | DaemonStartedEvent
  | DaemonServingEvent
  | DaemonReloadingEvent
  | DaemonReloadedEvent
  | DaemonReloadRefusedEvent
  | DaemonStoppingEvent
  | DaemonStopRepeatedEvent
  | DaemonStoppedEvent
  | DaemonWarningEvent
  | ConfigWarningEvent
  | RenewalSucceededEvent
  | RenewalFailedEvent
  | AccountNeedsLoginEvent
  | AccountBlockedEvent
  | AccountResumedEvent
  | AccountRefreshTokenExpiringEvent
  | WebhookFailedEvent
  | HttpRequestEvent
  | HttpErrorEvent
  | CredmonLoginStoredEvent
  | CredmonLoginFailedEvent
  | IssuerServingEvent
  | IssuerStoppedEvent
  | AgentEvent
  | CredmonEvent;
