import type { Secret } from '../secret.js';
import type { LogEvent, LogLevel } from './events.js';
import { LOG_LEVELS } from './events.js';
import { formatEvent } from './format.js';
import { SecretValues } from './redact.js';

/** One formatted, redacted event, as the subscriber hands it to every sink. */
export interface LogRecord {
  /** When it was emitted (epoch milliseconds). */
  time: number;
  level: LogLevel;
  type: LogEvent['type'];
  /** `formatEvent`'s line, redacted: no time, no newline. */
  text: string;
}

/** Where lines go: stderr, journald, a file. Sinks frame a line (time, priority); they never format. */
export interface LogSink {
  write(record: LogRecord): void;
  close?(): void;
}

/**
 * What the core and the features receive to report events. A part that is given no log gets `NO_LOG`
 * and calls it the same way: nothing tests whether there is a log.
 */
export interface Log {
  emit(event: LogEvent): void;
  /**
   * A value no sink may show (a token, a password, a client secret): cut from every later line until
   * the returned function is called. Registrations are counted, so two holders of one value may each
   * let go; a value needed for the life of the process may ignore the return.
   */
  addSecret(value: string | Secret): () => void;
  /** Closes the sinks; idempotent. Events emitted afterwards are dropped. */
  close(): void;
}

/** The log that writes nothing. */
export const NO_LOG: Log = Object.freeze({
  emit() {},
  addSecret() {
    return () => undefined;
  },
  close() {},
});

export interface CreateLogOptions {
  /** Events below this level are dropped; `info` by default (so `http.request`, at debug, is not shown). */
  level?: LogLevel;
  /** Epoch milliseconds; tests inject a fixed clock. */
  now?: () => number;
}

/**
 * The one subscriber: formats each event once, redacts it (JWT-shaped text, and every value given to
 * `addSecret`, in its encoded forms too), and hands the line to each sink. A sink that throws loses
 * that line and nothing else: logging never stops the work it reports on.
 */
export function createLog(sinks: readonly LogSink[], options: CreateLogOptions = {}): Log {
  const minimum = LOG_LEVELS.indexOf(options.level ?? 'info');
  const now = options.now ?? Date.now;
  const secrets = new SecretValues();
  const redact = (text: string) => secrets.redact(text);
  let closed = false;
  return {
    emit(event) {
      if (closed || LOG_LEVELS.indexOf(event.level) < minimum) return;
      const record: LogRecord = {
        time: now(),
        level: event.level,
        type: event.type,
        text: formatEvent(event, { redact }),
      };
      for (const sink of sinks) {
        try {
          sink.write(record);
        } catch {
          // Diagnostics only: a full disk or a closed pipe must not cost a renewal.
        }
      }
    },
    addSecret(value) {
      return secrets.add(typeof value === 'string' ? value : value.reveal());
    },
    close() {
      if (closed) return;
      closed = true;
      for (const sink of sinks) {
        try {
          sink.close?.();
        } catch {
          // Nothing more can be reported about a log that cannot close.
        }
      }
    },
  };
}
