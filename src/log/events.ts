/**
 * The events tokenwarden's parts report, as data: a `type` naming what happened, a `level`, and plain
 * fields (strings and numbers, never a Secret, never a token). Parts emit them into a `Log`
 * (`log.ts`); one subscriber turns them into lines, redacts them and writes them to its sinks. The
 * field names are the keys printed in the line (`renewal.failed token=vo-read account=vo code=NETWORK`),
 * so they are short, lower case, and snake_case where they need two words.
 */

/** How much an event matters; journald gets the matching syslog priority. */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/** One value of a field; undefined fields are left out of the line. */
export type LogValue = string | number | boolean | undefined;

/** The levels in increasing order of importance. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error'];

/** A long-running service has started and serves (or runs) with this configuration. */
export interface DaemonStartedEvent {
  type: 'daemon.started';
  level: 'info';
  config: string;
  tokens: number;
  pid: number;
  url?: string | undefined;
}

/** SIGHUP: the new configuration is in force. */
export interface DaemonReloadedEvent {
  type: 'daemon.reloaded';
  level: 'info';
  config: string;
  tokens: number;
}

/** SIGHUP with a configuration that does not load: the old one keeps running. */
export interface DaemonReloadRefusedEvent {
  type: 'daemon.reload-refused';
  level: 'error';
  config: string;
  code: string;
  message: string;
}

/** SIGTERM or SIGINT: nothing new starts, the work in flight finishes. */
export interface DaemonStoppingEvent {
  type: 'daemon.stopping';
  level: 'info';
  reason: string;
  in_flight: number;
}

/** The service has finished its work in flight and closed everything. */
export interface DaemonStoppedEvent {
  type: 'daemon.stopped';
  level: 'info';
  reason: string;
}

/** A token was renewed and written. */
export interface RenewalSucceededEvent {
  type: 'renewal.succeeded';
  level: 'info';
  token: string;
  account: string;
  expires_in: number;
}

/** A renewal failed; `retry_in` says when it is tried again (seconds), if it is. */
export interface RenewalFailedEvent {
  type: 'renewal.failed';
  level: 'warning';
  token: string;
  account: string;
  code: string;
  message: string;
  retry_in?: number | undefined;
}

/** The issuer refused the account's refresh token: a person must log in again. */
export interface AccountNeedsLoginEvent {
  type: 'account.needs-login';
  level: 'error';
  account: string;
  message: string;
  hint?: string | undefined;
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

export type LogEvent =
  | DaemonStartedEvent
  | DaemonReloadedEvent
  | DaemonReloadRefusedEvent
  | DaemonStoppingEvent
  | DaemonStoppedEvent
  | RenewalSucceededEvent
  | RenewalFailedEvent
  | AccountNeedsLoginEvent
  | HttpRequestEvent
  | HttpErrorEvent
  | AgentEvent;
