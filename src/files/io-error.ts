import { TokenwardenError } from '../errors.js';

/** The errno name of a Node system error (`ENOENT`, `ELOOP`…), or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * The errno text of a system error without the path Node appends, e.g. `no such file or directory
 * (ENOENT)`, so that our messages name the path the user gave rather than a temp file.
 */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = errnoCode(err);
  const match = /^(E[A-Z0-9]+): ([^,]+)/.exec(message);
  if (match?.[2] !== undefined) return `${match[2]} (${match[1]})`;
  return code === undefined ? message : `${message} (${code})`;
}

/** FILE_IO naming what we tried, the path and the errno text, with the original error as cause. */
export function fileIoError(action: string, path: string, cause: unknown, hint?: string): TokenwardenError {
  return new TokenwardenError('FILE_IO', `cannot ${action} ${path}: ${describeError(cause)}`, {
    cause,
    hint,
  });
}
