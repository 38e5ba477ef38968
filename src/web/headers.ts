/**
 * What a page from a tokenwarden server may load: nothing from elsewhere. Inline style (the status and
 * error pages carry theirs inline), images from data: URLs, scripts and fetches only from the same
 * server (a page that refreshes itself from a JSON route), and it may not be framed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Sent with every answer, errors and 404s included. A route may override one (for example a longer
 * Cache-Control on a static file); by default nothing is cached, since answers describe credentials.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
});
