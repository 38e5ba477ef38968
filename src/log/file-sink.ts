import { closeSync, constants, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import type { LogSink } from './log.js';

/** Largest log file before it is rotated to PATH.1 (which replaces the previous one). */
export const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;

export interface FileLog {
  write(line: string): void;
  close(): void;
}

/**
 * Appends lines to a log file of mode 0600 (opened O_APPEND|O_NOFOLLOW: a planted symlink is refused,
 * not followed), rotating it to `PATH.1` when it would grow past maxBytes: at most twice maxBytes on
 * disk, however long the process runs. Writes are synchronous (a few lines an hour; a line is on disk
 * when the event is over). A failing disk never stops the work: the line is lost.
 */
export function openFileLog(path: string, maxBytes = DEFAULT_LOG_MAX_BYTES): FileLog {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
  let fd: number | undefined = openSync(path, flags, 0o600);
  let size = fstatSync(fd).size;
  return {
    write(line) {
      const bytes = Buffer.from(line);
      try {
        if (fd !== undefined && size > 0 && size + bytes.length > maxBytes) {
          closeSync(fd);
          fd = undefined;
          renameSync(path, `${path}.1`);
          fd = openSync(path, flags | constants.O_EXCL, 0o600);
          size = 0;
        }
        if (fd === undefined) fd = openSync(path, flags, 0o600);
        writeSync(fd, bytes);
        size += bytes.length;
      } catch {
        // The log is diagnostics: losing a line must not cost a token request.
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

export interface FileSinkOptions {
  /** Rotation threshold; `DEFAULT_LOG_MAX_BYTES` (1 MiB) by default. */
  maxBytes?: number;
}

/**
 * Lines `2026-12-01T20:15:04.123Z renewal.succeeded token=…` in a file of mode 0600, rotated once.
 * Opening it is the only step that throws (a missing directory, a symlink in its place).
 */
export function fileSink(path: string, options: FileSinkOptions = {}): LogSink {
  const file = openFileLog(path, options.maxBytes);
  return {
    write(record) {
      file.write(`${new Date(record.time).toISOString()} ${record.text}\n`);
    },
    close() {
      file.close();
    },
  };
}
