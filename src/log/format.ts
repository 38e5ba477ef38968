import type { LogEvent, LogValue } from './events.js';
import { redactJwt } from './redact.js';

export interface FormatOptions {
  /** Applied to every value before it is quoted (the log's registered secrets); JWTs are always cut. */
  redact?: (text: string) => string;
}

const PLAIN = /^[^\s"\\=\p{Cc}]+$/u;

/**
 * `renewal.failed token=vo-read account=vo code=NETWORK message="connect ECONNREFUSED 127.0.0.1:9"`:
 * the event's type, then its fields in order (undefined ones left out), a value quoted as JSON when it
 * holds spaces, quotes, `=` or control characters, so one event is always one line however odd an
 * issuer's error text is. JWT-shaped text is replaced. No time and no newline: the sink adds what it needs.
 */
export function formatEvent(event: LogEvent, options: FormatOptions = {}): string {
  const fields: Record<string, LogValue> = {};
  for (const [key, value] of Object.entries(event))
    if (key !== 'type' && key !== 'level') fields[key] = value;
  return formatFields(event.type, fields, options);
}

/** The line of an event given as a name and its fields (what `formatEvent` and the agent's log share). */
export function formatFields(
  name: string,
  fields: Readonly<Record<string, LogValue>>,
  options: FormatOptions = {},
): string {
  const parts = [name];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    let text = redactJwt(String(value));
    if (options.redact) text = options.redact(text);
    parts.push(`${key}=${PLAIN.test(text) ? text : JSON.stringify(text)}`);
  }
  return parts.join(' ');
}
