/**
 * The names of the HTCondor credential directory, checked as the CredD and the Python credmon check
 * them: a credential file name (`<svc>[_<handle>]`) is made of `[A-Za-z0-9-+=_.]`; a provider (service)
 * name of `[A-Za-z0-9-]` unless `CREDMON_ALLOW_SPECIAL_CHAR_NAMES` is true, in which case the whole
 * credential name is the provider and there are no handles; key files are 64 lower-case hex digits.
 * Pure functions: every path the credmon or its web app builds from a name goes through these first.
 */

const CRED_NAME_RE = /^[A-Za-z0-9\-+=_.]+$/;
const PROVIDER_NAME_RE = /^[A-Za-z0-9-]+$/;
/** The CredD's key files: a SHA-256 in hex. */
export const KEY_FILE_NAME_RE = /^[a-f0-9]{64}$/;
/** A user name as a directory of the credential directory: the CredD's own character set, no dot files. */
const USER_NAME_RE = /^[A-Za-z0-9\-+=_.@]+$/;
/** Longest name accepted anywhere in the credential directory (NAME_MAX, with room for a suffix). */
export const MAX_CRED_NAME_LENGTH = 200;

/** The three files of one credential: refresh (`.top`), access (`.use`), metadata (`.meta`). */
export type CredFileKind = 'top' | 'use' | 'meta';

/** A credential name split into the provider it belongs to and its handle (`<provider>_<handle>`). */
export interface CredName {
  /** The whole name, `<provider>[_<handle>]`: the file stem. */
  name: string;
  provider: string;
  /** The text after the first `_`, or undefined for the provider's default credential. */
  handle: string | undefined;
}

/** Why a name found in the credential directory is skipped, for a log line. */
export type CredNameProblem = 'characters' | 'trailing-underscore' | 'provider' | 'length';

/** True when `name` is a valid provider name (`^[A-Za-z0-9-]+$`, or any credential name when special characters are allowed). */
export function isValidProviderName(name: string, allowSpecialChars = false): boolean {
  if (name.length === 0 || name.length > MAX_CRED_NAME_LENGTH) return false;
  return allowSpecialChars
    ? CRED_NAME_RE.test(name) && name !== '.' && name !== '..'
    : PROVIDER_NAME_RE.test(name);
}

/** True when `name` can be a user's directory in the credential directory (no `/`, not `.` or `..`). */
export function isValidUserName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_CRED_NAME_LENGTH &&
    USER_NAME_RE.test(name) &&
    name !== '.' &&
    name !== '..' &&
    !name.startsWith('.')
  );
}

/**
 * Splits a credential file stem (`scitokens`, `mytoken_analysis`) into provider and handle, or says why
 * it is skipped: characters outside `[A-Za-z0-9-+=_.]`, a name ending in `_` (the credmon skips those),
 * or a provider part that is not a valid provider name.
 */
export function parseCredName(
  name: string,
  allowSpecialChars = false,
): { ok: true; value: CredName } | { ok: false; problem: CredNameProblem } {
  if (name.length === 0 || name.length > MAX_CRED_NAME_LENGTH) return { ok: false, problem: 'length' };
  if (!CRED_NAME_RE.test(name) || name === '.' || name === '..' || name.startsWith('.'))
    return { ok: false, problem: 'characters' };
  if (allowSpecialChars) return { ok: true, value: { name, provider: name, handle: undefined } };
  if (name.endsWith('_')) return { ok: false, problem: 'trailing-underscore' };
  const cut = name.indexOf('_');
  const provider = cut === -1 ? name : name.slice(0, cut);
  const handle = cut === -1 ? undefined : name.slice(cut + 1);
  if (!PROVIDER_NAME_RE.test(provider)) return { ok: false, problem: 'provider' };
  return { ok: true, value: { name, provider, handle } };
}

/** Splits `scitokens_x.top` into the stem and the kind of file, or undefined for any other file. */
export function splitCredFileName(fileName: string): { stem: string; kind: CredFileKind } | undefined {
  const m = /^(.+)\.(top|use|meta)$/.exec(fileName);
  if (!m) return undefined;
  return { stem: m[1] as string, kind: m[2] as CredFileKind };
}
