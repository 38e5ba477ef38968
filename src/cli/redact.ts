/** The CLI's output filter is the core's JWT redaction (src/redact.ts), shared with the web pages. */
export { redact } from '../redact.js';
