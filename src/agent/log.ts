import { closeSync, constants, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

/** One value of a log field; undefined fields are left out. */
export type LogValue = string | number | undefined;

/** What the agent reports: one event name and a few fields, never a secret. */
export type AgentLogger = (event: string, fields?: Record<string, LogValue>) => void;

const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/**
 * `2026-12-01T20:15:04.123Z account-added account=vo issuer=https://… lifetime=3600s`: one line per
 * event, values quoted (JSON) when they hold spaces, quotes or control characters, so a line is one
 * event however odd an issuer's error text is. JWT-shaped text is replaced, as a last line of defence.
 */
export function formatLogLine(now: number, event: string, fields: Record<string, LogValue> = {}): string {
  const parts = [new Date(now).toISOString(), event];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value).replace(JWT, '[REDACTED-JWT]');
    parts.push(`${key}=${/^[^\s"\\=\p{Cc}]+$/u.test(text) ? text : JSON.stringify(text)}`);
  }
  return `${parts.join(' ')}\n`;
}

/** Largest agent.log before it is rotated to agent.log.1 (which replaces the previous one). */
export const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;

export interface FileLog {
  write(line: string): void;
  close(): void;
}

/**
 * Appends lines to a log file of mode 0600, rotating it to `PATH.1` when it would grow past maxBytes:
 * at most twice maxBytes on disk, however long the agent runs. Writes are synchronous (a few lines an
 * hour; a line is on disk when the event is over). A failing disk never stops the agent: the line is lost.
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
