import { TokenwardenError } from '../errors.js';

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
  const where = line === undefined || line <= 0 ? file : `${file} line ${line}`;
  const what = section === undefined ? detail : `Config for [${section}]: ${detail}`;
  return new TokenwardenError('CONFIG_INVALID', `${where}: ${what}`, hint === undefined ? {} : { hint });
}
