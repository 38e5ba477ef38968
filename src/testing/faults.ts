import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Failures a token endpoint shows in the field, injected in front of the provider (which then never
 * sees the request):
 * - 'error500': HTTP 500 with an HTML body, as from a failing proxy or application server;
 * - 'hang': no answer at all; the connection stays open until the issuer is closed;
 * - 'garbage': HTTP 200 that claims to be JSON but is not;
 * - 'slow': the provider does answer, but only SLOW_FAULT_MS after the request arrived (a refresh that
 *   is in flight long enough for a test to interrupt the client). Counted as faulted on arrival.
 */
export type TestIssuerFault = 'none' | 'error500' | 'hang' | 'garbage' | 'slow';

export const TEST_ISSUER_FAULTS: readonly TestIssuerFault[] = ['none', 'error500', 'hang', 'garbage', 'slow'];

/** How long the 'slow' fault holds a token request before the provider handles it. */
export const SLOW_FAULT_MS = 2000;

const ERROR_PAGE =
  '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n';
const GARBAGE = '<html><body>Service Temporarily Unavailable</body></html>\n';

/** Answers `req` as `fault` dictates. `hung` collects the requests left without an answer. */
export function answerWithFault(
  fault: Exclude<TestIssuerFault, 'none' | 'slow'>,
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
    case 'hang':
      // Read the body so the client is done sending and waits for an answer that never comes.
      req.resume();
      hung.add(res);
      res.once('close', () => hung.delete(res));
      return;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
