import {
  AuthorizationResponseError,
  ClientError,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
} from 'openid-client';
import { OAuthError, TokenwardenError } from '../errors.js';
import { redactSent } from './sent-secrets.js';
import type { RequestContext } from './types.js';

/**
 * Translates whatever openid-client, fetch or an abort threw into a TokenwardenError, once, at the oidc
 * module boundary. Only the pieces known to be safe are kept: an OAuth error code and description, an
 * HTTP status, an errno code. Raw responses and request bodies (which hold tokens) are dropped, no
 * cause is kept, and every secret the request carried (`sent`: refresh token, client secret and its
 * Basic credentials, device code, ...) is cut out of whatever text the issuer sent back, by value.
 *
 * The HTTP status of the issuer's answer and its Retry-After header (RFC 9110 section 10.2.3) are kept
 * as data (`httpStatus`, `retryAfterSeconds`), so a scheduler can tell a 429 or 503 from a refusal and
 * wait as long as the issuer asked.
 */
export function translateError(
  err: unknown,
  what: string,
  ctx?: Pick<RequestContext, 'timeoutSeconds' | 'signal'>,
  sent: readonly string[] = [],
): TokenwardenError {
  const clean = (text: string) => redactSent(text, sent);
  if (err instanceof OAuthError) return err;
  if (err instanceof TokenwardenError) {
    const message = clean(err.message);
    return message === err.message
      ? err
      : new TokenwardenError(err.code, message, {
          hint: err.hint,
          httpStatus: err.httpStatus,
          retryAfterSeconds: err.retryAfterSeconds,
        });
  }
  const http = httpAnswerOf(err);
  if (err instanceof ResponseBodyError) {
    const description = err.error_description === undefined ? undefined : clean(err.error_description);
    return new OAuthError(clean(err.error), description, err.status, { grant: what, ...http });
  }
  if (err instanceof AuthorizationResponseError) {
    // The browser came back with an error (RFC 6749 section 4.1.2.1): e.g. the human said no.
    const description = err.error_description === undefined ? undefined : clean(err.error_description);
    return new OAuthError(clean(err.error), description, undefined, { grant: what });
  }
  if (err instanceof WWWAuthenticateChallengeError) {
    const challenge = err.cause[0];
    const code = clean(challenge?.parameters.error ?? 'invalid_client');
    const description = challenge?.parameters.error_description;
    return new OAuthError(code, description === undefined ? undefined : clean(description), err.status, {
      grant: what,
      ...http,
    });
  }
  const code = (err as { code?: unknown }).code;
  const name = err instanceof Error ? err.name : '';
  if (
    code === 'OAUTH_TIMEOUT' ||
    code === 'OAUTH_ABORT' ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  ) {
    if (ctx?.signal?.aborted) {
      // The caller's deadline (a whole run's), not this request's own timeout.
      return new TokenwardenError(
        'TIMEOUT',
        `${what}: the run reached its deadline while waiting for the issuer`,
        {
          hint: 'the issuer is slow or down; a longer run deadline is renew --timeout SECS',
        },
      );
    }
    const after = ctx === undefined ? '' : ` within ${ctx.timeoutSeconds}s`;
    return new TokenwardenError('TIMEOUT', `${what}: no answer from the issuer${after}`, {
      hint: 'the issuer may be down or overloaded; raise `timeout` in the [account] section if it is just slow',
    });
  }
  // openid-client wraps fetch's network failure ("fetch failed", errno in its cause).
  const network = networkFailure(err) ?? networkFailure((err as { cause?: unknown }).cause);
  if (network !== undefined)
    return new TokenwardenError('NETWORK', `${what}: cannot reach the issuer (${network})`);
  if (
    err instanceof ClientError ||
    (err instanceof Error && typeof (err as { code?: unknown }).code === 'string')
  ) {
    const e = err as Error & { code?: string; cause?: unknown };
    const status = http.httpStatus === undefined ? '' : ` (HTTP ${http.httpStatus})`;
    const wait =
      http.retryAfterSeconds === undefined ? '' : `; it asked to retry after ${http.retryAfterSeconds}s`;
    return new TokenwardenError(
      'ISSUER_RESPONSE',
      `${what}: unusable answer from the issuer: ${clean(e.message)}${status}${wait}`,
      http,
    );
  }
  return new TokenwardenError(
    'INTERNAL',
    `${what}: ${clean(err instanceof Error ? err.message : String(err))}`,
  );
}

/** The status and Retry-After of the HTTP answer behind an openid-client error, when there was one. */
function httpAnswerOf(err: unknown): { httpStatus?: number; retryAfterSeconds?: number } {
  const response = responseOf(err);
  if (response === undefined) return {};
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now());
  return {
    httpStatus: response.status,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
  };
}

function responseOf(err: unknown): Response | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  // oauth4webapi keeps it as a non-enumerable `response` (ResponseBodyError, WWW-Authenticate
  // challenges) or as the `cause` of an "unexpected HTTP status code" error.
  const { response, cause } = err as { response?: unknown; cause?: unknown };
  if (response instanceof Response) return response;
  if (cause instanceof Response) return cause;
  return undefined;
}

/** Longest wait a Retry-After may impose (a day): a bogus far-future date must not park a credential. */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

/**
 * Parses an HTTP Retry-After value (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date, the latter
 * measured from `nowMs`. Gives whole seconds in `[0, MAX_RETRY_AFTER_SECONDS]`, or undefined when the
 * header is absent or unreadable. Pure.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at) || !/[A-Za-z]/.test(text)) return undefined;
    seconds = Math.ceil((at - nowMs) / 1000);
  }
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, seconds));
}

function networkFailure(err: unknown): string | undefined {
  if (!(err instanceof TypeError) || err.message !== 'fetch failed') return undefined;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? 'network error';
}
