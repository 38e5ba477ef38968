import { IncomingMessage } from 'node:http';

/** Larger than any form the issuer takes (oidc-provider itself stops at 56 KiB). */
const BODY_LIMIT = 64 * 1024;

export class BodyTooLargeError extends Error {
  constructor() {
    super('request body too large');
  }
}

/** Reads a whole request body, refusing more than 64 KiB. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > BODY_LIMIT) throw new BodyTooLargeError();
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A copy of `req` (same socket, method, URL and headers) whose body is `body`, for handing a rewritten
 * request to the provider after the original body was read. `complete` is set so that destroying the
 * copy once it is read does not tear down the shared socket.
 */
export function withBody(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method ?? 'POST';
  copy.url = req.url ?? '/';
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  const headers = { ...req.headers, 'content-length': String(body.length) };
  delete headers['transfer-encoding'];
  copy.headers = headers;
  copy.rawHeaders = Object.entries(headers).flatMap(([name, value]) =>
    Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, String(value)],
  );
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
}
