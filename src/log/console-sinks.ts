import { fstatSync } from 'node:fs';
import type { LogLevel } from './events.js';
import type { LogSink } from './log.js';

export interface StreamSinkOptions {
  /** Where the text goes; process.stderr by default (tests pass a collector). */
  write?: (text: string) => void;
}

const toStderr = (text: string) => {
  process.stderr.write(text);
};

/** `2026-12-01T20:15:04.123Z renewal.failed token=…`: one line per event on stderr, for a person. */
export function stderrSink(options: StreamSinkOptions = {}): LogSink {
  const write = options.write ?? toStderr;
  return {
    write(record) {
      write(`${new Date(record.time).toISOString()} ${record.text}\n`);
    },
  };
}

/** syslog priorities (RFC 5424 section 6.2.1) as journald reads them from a `<N>` line prefix. */
const PRIORITY: Record<LogLevel, number> = { error: 3, warning: 4, info: 6, debug: 7 };

/**
 * `<4>renewal.failed token=…`: for a service whose stderr is connected to the journal. journald stamps
 * the time itself and takes the priority from the `<N>` prefix of each line (sd-daemon(3)), so
 * `journalctl -p warning` shows failures only. Events are always one line, so every line has its prefix.
 */
export function journaldSink(options: StreamSinkOptions = {}): LogSink {
  const write = options.write ?? toStderr;
  return {
    write(record) {
      write(`<${PRIORITY[record.level]}>${record.text}\n`);
    },
  };
}

/**
 * Whether stderr is the journal: systemd sets JOURNAL_STREAM to the `DEVICE:INODE` of the stream it
 * connected, and a child whose stderr was redirected elsewhere inherits the variable, so the identity is
 * compared, as systemd.exec(5) advises.
 */
export function stderrIsJournal(env: Record<string, string | undefined> = process.env, fd = 2): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  const [device, inode] = stream.split(':');
  try {
    const st = fstatSync(fd, { bigint: true });
    return String(st.dev) === device && String(st.ino) === inode;
  } catch {
    return false;
  }
}

/**
 * journald's framing when stderr is the journal, else plain stderr lines. `write` replaces the writes
 * to stderr (a command passes its own, so a test that runs it in-process reads the lines).
 */
export function consoleSink(
  env: Record<string, string | undefined> = process.env,
  options: StreamSinkOptions = {},
): LogSink {
  return stderrIsJournal(env) ? journaldSink(options) : stderrSink(options);
}
