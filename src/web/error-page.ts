import { STATUS_CODES } from 'node:http';
import { escapeHtml } from './html.js';
import type { HttpError } from './http-errors.js';

export { escapeHtml };

/**
 * The error answer for a person in a browser: a small self-contained page (inline style only, which
 * the Content-Security-Policy allows; no script, no outside resource), every text escaped.
 */
export function renderErrorPage(error: HttpError): string {
  const title = `${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)} · tokenwarden</title>`,
    '<style>body{font:16px/1.5 system-ui,sans-serif;margin:3rem auto;max-width:40rem;padding:0 1rem;color:#222}',
    'code{background:#eee;padding:0 .3em;border-radius:3px}</style>',
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(error.message)}</p>`,
    `<p>Error code <code>${escapeHtml(error.code)}</code></p>`,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * Whether the client would rather read HTML than JSON: a browser's `Accept` names text/html before
 * (or without) application/json; `*\/*` (curl, fetch, Prometheus) gets JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((part) => part.split(';')[0]?.trim().toLowerCase());
  const html = types.indexOf('text/html');
  const json = types.indexOf('application/json');
  return html !== -1 && (json === -1 || html < json);
}
