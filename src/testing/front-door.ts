import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider } from 'oidc-provider';
import { TokenwardenError } from '../errors.js';
import { createAuthorizationAudiences, rewriteTokenRequestBody } from './audience.js';
import { createAuthorizationWalker } from './authorization-walk.js';
import {
  answerWithEcho,
  answerWithFault,
  SLOW_FAULT_MS,
  TEST_ISSUER_FAULTS,
  type TestIssuerFault,
} from './faults.js';
import { BodyTooLargeError, readBody, withBody } from './http-body.js';
import { createInteractionHandler, INTERACTION_PATH } from './interactions.js';

/** oidc-provider's default routes, which the test issuer keeps. */
const TOKEN_PATH = '/token';
const AUTHORIZATION_PATH = '/auth';

/**
 * What every request passes before oidc-provider: at the token endpoint the injected fault, else the
 * audience rewrite (audience.ts); the interaction pages (interactions.ts); and with
 * autoApproveInteractions, authorization requests walked to their end (authorization-walk.ts).
 */
export interface FrontDoor {
  /** The HTTP server's 'request' listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  setFault(fault: TestIssuerFault): void;
  /** Destroys the connections of requests left unanswered by the 'hang' fault. */
  dropHungRequests(): void;
}

export interface FrontDoorSetup {
  provider: Provider;
  issuer: string;
  autoApproveInteractions: string | undefined;
  /** Called for each request answered by a fault instead of the provider. */
  onFault(): void;
  /** Called with each secret the 'echo-secrets' fault quoted back. */
  onEcho(value: string): void;
}

export function createFrontDoor(setup: FrontDoorSetup): FrontDoor {
  const toProvider = setup.provider.callback();
  const handleInteraction = createInteractionHandler(setup.provider, setup.autoApproveInteractions);
  const walker =
    setup.autoApproveInteractions === undefined ? undefined : createAuthorizationWalker(setup.issuer);
  const hung = new Set<ServerResponse>();
  const authorizationAudiences = createAuthorizationAudiences();
  let fault: TestIssuerFault = 'none';

  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (fault === 'echo-secrets') {
      setup.onFault();
      answerWithEcho(req, (await readBody(req)).toString('utf8'), res, setup.onEcho);
      return;
    }
    if (fault === 'slow') {
      setup.onFault();
      await new Promise((resolve) => setTimeout(resolve, SLOW_FAULT_MS));
    } else if (fault !== 'none') {
      setup.onFault();
      answerWithFault(fault, req, res, hung);
      return;
    }
    if (req.method !== 'POST') {
      toProvider(req, res);
      return;
    }
    const body = await readBody(req);
    const text = body.toString('utf8');
    const rewritten = rewriteTokenRequestBody(authorizationAudiences.giveToCodeExchange(text));
    toProvider(withBody(req, rewritten === text ? body : Buffer.from(rewritten)), res);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (path === AUTHORIZATION_PATH && req.method === 'GET' && req.url)
      req.url = authorizationAudiences.takeFromAuthorization(req.url);
    if (path === TOKEN_PATH) await tokenEndpoint(req, res);
    else if (path.startsWith(INTERACTION_PATH)) await handleInteraction(req, res);
    else if (walker && path === AUTHORIZATION_PATH && req.method === 'GET' && !walker.isOwnRequest(req)) {
      await walker.walk(req, res);
    } else toProvider(req, res);
  }

  return {
    handle(req, res) {
      route(req, res).catch((err: unknown) => answerFrontDoorError(res, err));
    },
    setFault(next) {
      if (!TEST_ISSUER_FAULTS.includes(next)) {
        throw new TokenwardenError('USAGE', `test issuer: unknown fault ${String(next)}`);
      }
      fault = next;
    },
    dropHungRequests() {
      for (const res of hung) res.destroy();
      hung.clear();
    },
  };
}

/** Last resort for a failure in the front door itself (the provider answers its own errors). */
function answerFrontDoorError(res: ServerResponse, err: unknown): void {
  const tooLarge = err instanceof BodyTooLargeError;
  // Not a client's mistake but a bug in the test issuer: say so where a developer will see it.
  if (!tooLarge) console.error('test issuer: request failed:', err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    error: tooLarge ? 'invalid_request' : 'server_error',
    error_description: tooLarge ? 'request body too large' : 'test issuer front door failed',
  });
  res.writeHead(tooLarge ? 413 : 500, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
