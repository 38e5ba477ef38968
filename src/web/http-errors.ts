import type { ErrorCode, Remedy } from '../errors.js';
import { isTokenwardenError } from '../errors.js';
import { redactJwt } from '../log/index.js';

/**
 * The HTTP status for each error code, in one table (as `cli/exit.ts` does for exit statuses): what a
 * client of any tokenwarden server sees when a handler throws a TokenwardenError. 4xx: the request, or
 * the credential it names, is the problem; 502/504: the issuer behind us failed; 503: try again later;
 * 500: our side (its configuration, its files, a bug).
 */
export const HTTP_STATUSES: Record<ErrorCode, number> = {
  USAGE: 400,
  CONFIG_NOT_FOUND: 500,
  CONFIG_INVALID: 500,
  PASSWORD_FILE: 500,
  STORE_NOT_FOUND: 404,
  STORE_DECRYPT_FAILED: 500,
  STORE_INVALID: 500,
  FILE_UNSAFE: 500,
  FILE_IO: 500,
  LOCK_TIMEOUT: 503,
  TOKEN_INVALID: 422,
  TOKEN_NOT_FOUND: 404,
  OAUTH_ERROR: 502,
  ISSUER_RESPONSE: 502,
  NETWORK: 502,
  TIMEOUT: 504,
  NEEDS_LOGIN: 409,
  CREDENTIAL_LOST: 500,
  LOGIN_DENIED: 403,
  LOGIN_TIMEOUT: 409,
  RENEW_FAILED: 502,
  AGENT_START: 500,
  INTERNAL: 500,
};

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUSES[code] ?? 500;
}

/**
 * Codes of failures that belong to HTTP itself rather than to tokenwarden's work; they appear in
 * `{ error: { code } }` beside the ErrorCodes.
 */
export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'DEADLINE'
  | 'UNAVAILABLE';

/** What a client is told: never a stack, never a secret, never the text of a bug. */
export interface HttpError {
  status: number;
  code: ErrorCode | HttpErrorCode;
  message: string;
  /** The command that fixes it, as data (the error's remedy), for a client to show or offer. */
  remedy?: Remedy;
}

/**
 * The wire form of every error answer: `{ "error": { "code": "NEEDS_LOGIN", "message": "…" } }`, with
 * `"remedy": { "command": "setup", "account": "vo", "config": "…" }` when a command fixes it.
 */
export interface HttpErrorBody {
  error: { code: string; message: string; remedy?: Remedy };
}

/** The JSON body of an error answer. */
export function httpErrorBody(error: HttpError): HttpErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.remedy === undefined ? {} : { remedy: error.remedy }),
    },
  };
}

/** Fastify's own failures, each with a fixed message (its texts can quote the request body). */
const FASTIFY: Record<string, HttpError> = {
  FST_ERR_NOT_FOUND: { status: 404, code: 'NOT_FOUND', message: 'there is nothing at this address' },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'BODY_TOO_LARGE',
    message: 'the request body is too large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'the request body has a content type this address does not take',
  },
  FST_ERR_HANDLER_TIMEOUT: {
    status: 503,
    code: 'DEADLINE',
    message: 'the request was not answered in time; try again later',
  },
};

const BY_STATUS: Record<number, HttpError> = {
  404: FASTIFY.FST_ERR_NOT_FOUND as HttpError,
  405: { status: 405, code: 'METHOD_NOT_ALLOWED', message: 'this address does not take that method' },
  413: FASTIFY.FST_ERR_CTP_BODY_TOO_LARGE as HttpError,
  415: FASTIFY.FST_ERR_CTP_INVALID_MEDIA_TYPE as HttpError,
  503: { status: 503, code: 'UNAVAILABLE', message: 'the service is not available; try again later' },
};

const INTERNAL: HttpError = { status: 500, code: 'INTERNAL', message: 'internal error' };

/**
 * Decides what a client sees for any thrown value (pure): a TokenwardenError by its code, its
 * message (written for users and free of secrets; JWT-shaped text is cut all the same) and its remedy,
 * as data (the CLI words it as a command line; a client of a server may word it otherwise); a schema
 * validation failure as 400 with Ajv's description of the field (which names the field, not its value);
 * Fastify's other refusals by status with a fixed message; anything else as a bare 500 `internal error`,
 * since a bug's message may hold anything.
 */
export function toHttpError(err: unknown): HttpError {
  if (isTokenwardenError(err)) {
    if (err.code === 'INTERNAL') return INTERNAL;
    return {
      status: httpStatusOf(err.code),
      code: err.code,
      message: redactJwt(err.message),
      ...(err.remedy === undefined ? {} : { remedy: err.remedy }),
    };
  }
  if (typeof err !== 'object' || err === null) return INTERNAL;
  const e = err as { code?: unknown; statusCode?: unknown; validation?: unknown; message?: unknown };
  if (e.validation !== undefined && typeof e.message === 'string')
    return { status: 400, code: 'BAD_REQUEST', message: redactJwt(e.message) };
  if (typeof e.code === 'string' && FASTIFY[e.code]) return FASTIFY[e.code] as HttpError;
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return (
      BY_STATUS[e.statusCode] ?? { status: 400, code: 'BAD_REQUEST', message: 'the request is malformed' }
    );
  if (e.statusCode === 503) return BY_STATUS[503] as HttpError;
  return INTERNAL;
}
