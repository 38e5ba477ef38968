/**
 * Last line of defence at the CLI's output sinks: anything shaped like a JWT in a diagnostic is
 * replaced. Secrets are kept out of messages by construction (Secret); this catches what a third-party
 * error message might still carry. The filter is the log's (`log/redact.ts`), so stderr and every log
 * sink cut the same text.
 */
export { redactJwt as redact } from '../log/redact.js';
