import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Auto-approved authorization requests for user agents without cookies. oidc-provider binds an
 * interaction to cookies (the interaction, its resume and the session), so a client that just GETs the
 * authorization URL and follows redirects (a test, a benchmark, curl -L) would lose the interaction on
 * the first hop. Instead, the issuer walks the redirects itself, through its own real endpoints and the
 * auto-approving interaction page, with a private cookie jar, and hands the user agent the first answer
 * that leaves the issuer: normally the redirect to the client's redirect_uri with ?code=.
 */
export interface AuthorizationWalker {
  /** Whether `req` is one of the walker's own requests (those go to the provider untouched). */
  isOwnRequest(req: IncomingMessage): boolean;
  /** Answers `req` (a GET of the authorization endpoint) with where the walk ended. */
  walk(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const HEADER = 'x-test-issuer-walk';
const MAX_HOPS = 10;
const RELAYED_HEADERS = ['location', 'content-type', 'cache-control'];

export function createAuthorizationWalker(issuer: string): AuthorizationWalker {
  const marker = randomBytes(16).toString('base64url');
  const origin = new URL(issuer).origin;

  async function walk(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const jar = new Map<string, string>();
    let url = new URL(req.url ?? '/', origin);
    for (let hop = 0; ; hop++) {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: {
          [HEADER]: marker,
          accept: req.headers.accept ?? 'text/html',
          ...(jar.size > 0 ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        },
      });
      storeCookies(jar, response.headers.getSetCookie());
      const location = response.headers.get('location');
      const next =
        location && response.status >= 300 && response.status < 400 ? new URL(location, url) : undefined;
      if (next && next.origin === origin && hop < MAX_HOPS) {
        await response.body?.cancel();
        url = next;
        continue;
      }
      const headers: Record<string, string> = {};
      for (const name of RELAYED_HEADERS) {
        const value = response.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      const body = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, { ...headers, 'content-length': body.length });
      res.end(body);
      return;
    }
  }

  return {
    isOwnRequest: (req) => req.headers[HEADER] === marker,
    walk,
  };
}

/** Keeps name=value of each Set-Cookie; a cookie set to expire is dropped. Paths are not tracked. */
function storeCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const expired = attributes.some((a) => {
      const [key = '', value = ''] = a.trim().split('=');
      const k = key.toLowerCase();
      return (k === 'max-age' && Number(value) <= 0) || (k === 'expires' && Date.parse(value) <= Date.now());
    });
    if (expired) jar.delete(name);
    else jar.set(name, pair.slice(eq + 1).trim());
  }
}
