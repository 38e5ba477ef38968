import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Failures a token endpoint shows in the field, injected in front of the provider (which then never
 * sees the request):
 * - 'error500': HTTP 500 with an HTML body, as from a failing proxy or application server;
 * - 'hang': no answer at all; the connection stays open until the issuer is closed;
 * - 'garbage': HTTP 200 that claims to be JSON but is not;
 * - 'slow': the provider does answer, but only SLOW_FAULT_MS after the request arrived (a refresh that
 *   is in flight long enough for a test to interrupt the client). Counted as faulted on arrival;
 * - 'echo-secrets': HTTP 400 invalid_request whose error_description quotes the request back, as
 *   Spring-based issuers (INDIGO IAM) do: the Authorization header (Basic credentials, also
 *   URL-encoded), the form body as sent, and each secret parameter decoded (refresh_token,
 *   client_secret, device_code, code, code_verifier, subject_token).
 * - 'rate-limited': HTTP 429 with `Retry-After: RETRY_AFTER_SECONDS` (delay-seconds), as an issuer or
 *   its gateway throttling a client;
 * - 'unavailable': HTTP 503 with a Retry-After HTTP-date RETRY_AFTER_SECONDS ahead, as a site in
 *   maintenance.
 */
export type TestIssuerFault =
  | 'none'
  | 'error500'
  | 'hang'
  | 'garbage'
  | 'slow'
  | 'echo-secrets'
  | 'rate-limited'
  | 'unavailable';

export const TEST_ISSUER_FAULTS: readonly TestIssuerFault[] = [
  'none',
  'error500',
  'hang',
  'garbage',
  'slow',
  'echo-secrets',
  'rate-limited',
  'unavailable',
];

/** The wait the 'rate-limited' and 'unavailable' faults ask for in their Retry-After header. */
export const RETRY_AFTER_SECONDS = 7;

/** How long the 'slow' fault holds a token request before the provider handles it. */
export const SLOW_FAULT_MS = 2000;

/** The request parameters 'echo-secrets' quotes decoded. */
const ECHOED_PARAMETERS = [
  'refresh_token',
  'client_secret',
  'device_code',
  'code',
  'code_verifier',
  'subject_token',
];

/**
 * The 'echo-secrets' answer to a token request whose body was `body`; `echoed` gets every secret value
 * quoted (so a leak audit can look for each of them).
 */
export function answerWithEcho(
  req: IncomingMessage,
  body: string,
  res: ServerResponse,
  echoed: (value: string) => void,
): void {
  const parts: string[] = [];
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const credentials = authorization.replace(/^Basic\s+/i, '');
    echoed(credentials);
    parts.push(`Authorization: ${authorization}`, `credentials=${encodeURIComponent(credentials)}`);
  }
  const params = new URLSearchParams(body);
  for (const name of ECHOED_PARAMETERS) {
    const value = params.get(name);
    if (value === null) continue;
    echoed(value);
    parts.push(`${name}: ${value}`);
  }
  parts.push(`request: ${body}`);
  send(
    res,
    400,
    'application/json',
    JSON.stringify({
      error: 'invalid_request',
      error_description: `Bad request (${parts.join('; ')})`,
    }),
  );
}

const ERROR_PAGE =
  '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n';
const GARBAGE = '<html><body>Service Temporarily Unavailable</body></html>\n';

/** Answers `req` as `fault` dictates. `hung` collects the requests left without an answer. */
export function answerWithFault(
  fault: Exclude<TestIssuerFault, 'none' | 'slow' | 'echo-secrets'>,
  req: IncomingMessage,
  res: ServerResponse,
  hung: Set<ServerResponse>,
): void {
  switch (fault) {
    case 'error500':
      send(res, 500, 'text/html', ERROR_PAGE);
      return;
    case 'garbage':
      send(res, 200, 'application/json', GARBAGE);
      return;
    case 'rate-limited':
      send(res, 429, 'text/plain', 'Too Many Requests\n', { 'retry-after': String(RETRY_AFTER_SECONDS) });
      return;
    case 'unavailable': {
      // HTTP-dates have whole seconds: one more, so the wait asked is never shorter than announced.
      const at = new Date(Date.now() + (RETRY_AFTER_SECONDS + 1) * 1000).toUTCString();
      send(res, 503, 'text/html', GARBAGE, { 'retry-after': at });
      return;
    }
    case 'hang':
      // Read the body so the client is done sending and waits for an answer that never comes.
      req.resume();
      hung.add(res);
      res.once('close', () => hung.delete(res));
      return;
  }
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
