/**
 * Last line of defence at the CLI's output sinks: anything shaped like a JWT or a long opaque secret
 * in a diagnostic is replaced. Secrets are kept out of messages by construction (Secret); this catches
 * what a third-party error message might still carry.
 */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

export function redact(text: string): string {
  return text.replace(JWT, '[REDACTED-JWT]');
}
