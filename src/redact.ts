/**
 * Last line of defence at every output sink (the CLI's stderr, web pages): anything shaped like a JWT in
 * a diagnostic is replaced. Secrets are kept out of messages by construction (Secret); this catches what
 * a third-party error message might still carry. Pure, so the core and the web layer can use it as well
 * as the CLI.
 */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

export function redact(text: string): string {
  return text.replace(JWT, '[REDACTED-JWT]');
}
