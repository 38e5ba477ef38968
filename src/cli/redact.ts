/**
 * Last line of defence at the CLI's output sinks: anything shaped like a JWT in a diagnostic is
 * replaced. The filter is the core's (`src/redact.ts`), so stderr, every log sink and the web pages cut
 * the same text.
 */
export { redact } from '../redact.js';
