import type { AgentEvent, AgentEventType, Log, LogLevel } from '../log/index.js';
import { formatFields } from '../log/index.js';

export { DEFAULT_LOG_MAX_BYTES, type FileLog, openFileLog } from '../log/index.js';

/** One value of a log field; undefined fields are left out. */
export type LogValue = string | number | undefined;

/** What the agent reports: one event name and a few fields, never a secret. */
export type AgentLogger = (event: string, fields?: Record<string, LogValue>) => void;

/** How much each agent event matters (journald priority, level filters); anything else is info. */
const LEVELS: Partial<Record<AgentEventType, LogLevel>> = {
  'refresh-failed': 'warning',
  'bearer-file-failed': 'warning',
  'add-failed': 'warning',
  'needs-login': 'error',
  'internal-error': 'error',
};

/**
 * The agent's events into the shared log: `start socket=… pid=…` keeps its name and fields, so the
 * subscriber writes the same lines agent.log always had, redacted the same way.
 */
export function agentLogger(log: Log): AgentLogger {
  return (event, fields = {}) => {
    const type = event as AgentEventType;
    log.emit({ ...fields, type, level: LEVELS[type] ?? 'info' } as AgentEvent);
  };
}

/**
 * `2026-12-01T20:15:04.123Z account-added account=vo issuer=https://… lifetime=3600s`: one line per
 * event, values quoted (JSON) when they hold spaces, quotes or control characters, so a line is one
 * event however odd an issuer's error text is. JWT-shaped text is replaced, as a last line of defence.
 */
export function formatLogLine(now: number, event: string, fields: Record<string, LogValue> = {}): string {
  return `${new Date(now).toISOString()} ${formatFields(event, fields)}\n`;
}
