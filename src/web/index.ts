export { escapeHtml, prefersHtml, renderErrorPage } from './error-page.js';
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from './headers.js';
export {
  HTTP_STATUSES,
  type HttpError,
  type HttpErrorBody,
  type HttpErrorCode,
  httpErrorBody,
  httpStatusOf,
  toHttpError,
} from './http-errors.js';
export {
  createWebServer,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  sendError,
  type WebServer,
  type WebServerOptions,
  type WebServerTls,
} from './server.js';
