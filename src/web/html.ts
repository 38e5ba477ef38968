import { redact } from '../redact.js';

/** HTML text for the pages the web layer serves (the status page, error pages). */

/** Redacts JWT-shaped text, then escapes it for HTML text and attribute values. */
export function escapeHtml(value: string): string {
  // Most texts (names, paths) need neither: skip both regular expressions for them.
  const text = value.includes('eyJ') ? redact(value) : value;
  return HTML_SPECIAL.test(text) ? text.replace(HTML_SPECIALS, (c) => ESCAPES[c] as string) : text;
}

const HTML_SPECIAL = /[&<>"']/;
const HTML_SPECIALS = /[&<>"']/g;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
