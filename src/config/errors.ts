import { type ErrorCode, TokenwardenError, type TokenwardenErrorOptions } from '../errors.js';

/**
 * A CONFIG_INVALID error in the one shape every config message has, on one line:
 * `FILE line N: Config for [SECTION]: DETAIL`, leaving out the parts that are not known. The section
 * part keeps osg-token-renewer's wording (`Config for [token T]: missing [account A] section`).
 * DETAIL must never contain a secret value.
 */
export function configError(
  file: string,
  line: number | undefined,
  section: string | undefined,
  detail: string,
  hint?: string,
): TokenwardenError {
  return configFailure('CONFIG_INVALID', file, line, section, detail, hint === undefined ? {} : { hint });
}

/** The same one-line shape for an error of another code that a config entry caused (a file it names). */
export function configFailure(
  code: ErrorCode,
  file: string,
  line: number | undefined,
  section: string | undefined,
  detail: string,
  options: TokenwardenErrorOptions = {},
): TokenwardenError {
  return new TokenwardenError(code, `${configPlace(file, line, section)}: ${detail}`, options);
}

/** `FILE line N: Config for [SECTION]`, leaving out the parts that are not known. */
export function configPlace(file: string, line: number | undefined, section: string | undefined): string {
  const where = line === undefined || line <= 0 ? file : `${file} line ${line}`;
  return section === undefined ? where : `${where}: Config for [${section}]`;
}
