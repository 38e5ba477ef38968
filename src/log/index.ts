export {
  consoleSink,
  journaldSink,
  type StreamSinkOptions,
  stderrIsJournal,
  stderrSink,
} from './console-sinks.js';
export type {
  AccountBlockedEvent,
  AccountNeedsLoginEvent,
  AccountRefreshTokenExpiringEvent,
  AccountResumedEvent,
  AgentEvent,
  AgentEventType,
  ConfigWarningEvent,
  CredmonEvent,
  CredmonFailedEvent,
  CredmonLoginFailedEvent,
  CredmonLoginStoredEvent,
  DaemonReloadedEvent,
  DaemonReloadingEvent,
  DaemonReloadRefusedEvent,
  DaemonServingEvent,
  DaemonStartedEvent,
  DaemonStoppedEvent,
  DaemonStoppingEvent,
  DaemonStopRepeatedEvent,
  DaemonWarningEvent,
  HttpErrorEvent,
  HttpRequestEvent,
  IssuerServingEvent,
  IssuerStoppedEvent,
  LogEvent,
  LogLevel,
  LogValue,
  RenewalFailedEvent,
  RenewalSucceededEvent,
  WebhookFailedEvent,
} from './events.js';
export { LOG_LEVELS } from './events.js';
export {
  DEFAULT_LOG_MAX_BYTES,
  type FileLog,
  type FileSinkOptions,
  fileSink,
  openFileLog,
} from './file-sink.js';
export { type FormatOptions, formatEvent, formatFields } from './format.js';
export { type CreateLogOptions, createLog, type Log, type LogRecord, type LogSink, NO_LOG } from './log.js';
export { redactJwt, SecretValues } from './redact.js';
