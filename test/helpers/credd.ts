/**
 * A CredD on disk, for tests: lays out an HTCondor OAuth credential directory exactly as the CredD and
 * its packaging do, so the credmon and its web app are tested against the files a real CredD writes.
 *
 * What each function reproduces (HTCondor 24/25, src/condor_utils/store_cred.cpp, secure_file.cpp,
 * credmon_interface.cpp, src/condor_credd/credd.cpp):
 * - the directory: root:condor mode 2770 (/var/lib/condor/oauth_credentials as packaged);
 * - a `.top`: the user directory made with mkdir(0700) (EEXIST is fine), the credential written to
 *   `<user>/<svc>.top.tmp` (O_CREAT|O_TRUNC, mode 0600) and renamed over `<user>/<svc>.top`; when the
 *   request carries scopes or audience they are added to the JSON as comma-separated strings and the
 *   object is printed as a ClassAd JSON (one attribute a line, then a newline); the local issuer's
 *   `.top` is the user name's bytes (only its existence matters);
 * - the user's mark is removed on every store (mark and sweep), `<user>.mark` is created (0600, kept if
 *   it exists) only when the user's directory exists;
 * - key files: 32 random bytes in hex as the name, old-syntax ClassAds (`Name = "value"` a line), ads
 *   separated by a blank line, written as the CredD's user with mode 0640 (group readable); every
 *   attribute is present even when empty;
 * - the CredD's wake-up: read `pid` (at most 256 bytes, decimal), SIGHUP it; its wait: poll for
 *   `CREDMON_COMPLETE` (or a `.use`);
 * - read_secure_file as the shadow and starter call it: a regular file, owned by the reader's real uid,
 *   no group or other bits.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

export interface CredDir {
  path: string;
  uid: number;
  gid: number;
}

/** The CredD's check of a user, service or handle name (store_cred.cpp okay_for_oauth_filename). */
const OAUTH_FILENAME_RE = /^[A-Za-z0-9\-+=_.]+$/;

function checkName(what: string, name: string): void {
  if (!OAUTH_FILENAME_RE.test(name))
    throw new Error(`credd helper: the CredD refuses ${what} ${JSON.stringify(name)} (not [A-Za-z0-9-+=_.])`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The gid of group `name` from /etc/group, or undefined. */
async function groupId(name: string): Promise<number | undefined> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** The gid of `condor`, creating the group when we are root and it is missing; undefined when neither. */
async function condorGroup(name: string): Promise<number | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const found = await groupId(name);
    if (found !== undefined || !isRoot()) return found;
    try {
      execFileSync('groupadd', ['--system', name], { stdio: 'pipe' });
    } catch {
      // Another test process created it first (exit 9) or holds /etc/group's lock (exit 10): look again.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return groupId(name);
}

/**
 * Makes `<parent>/oauth_credentials` as HTCondor's packaging makes /var/lib/condor/oauth_credentials:
 * owner root, group `condor` (created when missing and we are root; else the current user's group),
 * mode 2770 (or `opts.mode`, to test the credmon's refusal of an "other" bit).
 */
export async function makeCredDir(
  parent: string,
  opts: { mode?: number; group?: string } = {},
): Promise<CredDir> {
  const path = join(parent, 'oauth_credentials');
  await mkdir(path, { mode: 0o700 });
  const uid = process.getuid?.() ?? 0;
  let gid = process.getgid?.() ?? 0;
  if (isRoot()) {
    gid = (await condorGroup(opts.group ?? 'condor')) ?? gid;
    await chown(path, 0, gid);
  }
  // After chown: mkdir's mode is cut by the umask and cannot set the setgid bit on every system.
  await chmod(path, opts.mode ?? 0o2770);
  return { path, uid, gid };
}

/** Where a credential file lives: `<dir>/<user>/<name>.<kind>`. */
export function credPath(dir: CredDir, user: string, name: string, kind: 'top' | 'use' | 'meta'): string {
  return join(dir.path, user, `${name}.${kind}`);
}

/** A `.top` as the CredD receives it: a refresh token with the request's scopes and audience. */
export interface TopObject {
  refresh_token?: string;
  /** Comma-separated as the CredD stores them (an array is joined with commas). */
  scopes?: string | string[];
  audience?: string | string[];
  [key: string]: unknown;
}

/** Prints an object as HTCondor's ClassAd JSON unparser does: one attribute a line, sorted, a newline after. */
function classAdJson(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  const lines = keys.map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(obj[k])}`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

/** The bytes of a `.top` as the CredD writes it (OAUTH_STORE_CRED). */
export function topBytes(top: string | TopObject): string {
  if (typeof top === 'string') return top;
  const out: Record<string, unknown> = { ...top };
  for (const key of ['scopes', 'audience'] as const) {
    const value = top[key];
    if (Array.isArray(value)) out[key] = value.join(',');
    if (out[key] === '') delete out[key];
  }
  // The CredD rewrites the JSON only to add scopes or audience; otherwise it stores the client's bytes.
  return out.scopes !== undefined || out.audience !== undefined ? classAdJson(out) : JSON.stringify(out);
}

/** Python's json.dump of a flat object: `{"a": 1, "b": "x"}` (", " and ": " separators). */
export function pythonJson(obj: Record<string, unknown>): string {
  return `{${Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** What HTCondor's Flask web app got from the token endpoint and the key file, for storeWebLogin. */
export interface WebLogin {
  /** The token response (the refresh token is split off into `.top`). */
  token: Record<string, unknown> & { access_token: string; refresh_token?: string };
  /** The key file's Scopes and Audience (blanks are removed, as the web app does). */
  scopes?: string;
  audience?: string;
  clientId: string;
  tokenUrl: string;
  /** The Python web app copies the client secret into `.meta`; tokenwarden never reads it from there. */
  clientSecret?: string;
}

/**
 * Writes a login's three files as HTCondor's Python web app does after `/return/<svc>`: `<user>/` made
 * if missing (mode 0777 less the umask, as os.makedirs makes it), `.use` (the token response minus `refresh_token`), `.top` (`refresh_token`, and `scopes`
 * / `audience` without blanks), `.meta` (`client_id`, `client_secret` if given, `token_url`,
 * `use_refresh_token`), each json.dump'ed to a temp file, chmod 0400 and renamed (use, top, meta).
 * For tests that start from a credential the Python credmon's web app made.
 */
export async function storeWebLogin(
  dir: CredDir,
  user: string,
  name: string,
  login: WebLogin,
): Promise<void> {
  const userDir = join(dir.path, user);
  // os.makedirs with its default mode: 0777 less the umask (the credential directory keeps others out).
  await mkdir(userDir, { recursive: true });
  const { refresh_token, ...use } = login.token;
  const top: Record<string, unknown> = { refresh_token: refresh_token ?? '' };
  if (login.scopes) top.scopes = login.scopes.replace(/ /g, '');
  if (login.audience) top.audience = login.audience.replace(/ /g, '');
  const meta = {
    client_id: login.clientId,
    client_secret: login.clientSecret,
    token_url: login.tokenUrl,
    use_refresh_token: refresh_token !== undefined,
  };
  for (const [kind, body] of [
    ['use', use],
    ['top', top],
    ['meta', meta],
  ] as const) {
    const tmp = join(userDir, `tmp${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, pythonJson(body), { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o400);
    await rename(tmp, join(userDir, `${name}.${kind}`));
  }
}

/**
 * Stores a `.top` as the CredD does: clears `<user>.mark`, makes `<user>/` (0700) if missing, writes
 * `<user>/<name>.top.tmp` with mode 0600 and renames it over `<user>/<name>.top`. `name` is the whole
 * credential name (`<service>` or `<service>_<handle>`). A string is written as is (the local issuer's
 * `.top` is the user name: see storeLocalCred); an object as the CredD's JSON with `scopes`/`audience`
 * comma-separated. `opts.unchecked` skips the CredD's name check, to plant names the CredD would refuse.
 */
export async function storeCred(
  dir: CredDir,
  user: string,
  name: string,
  top: string | TopObject,
  opts: { unchecked?: boolean; mtimeMs?: number } = {},
): Promise<string> {
  if (!opts.unchecked) {
    checkName('user name', user);
    checkName('service name', name);
  }
  await rm(join(dir.path, `${user}.mark`), { force: true });
  const userDir = join(dir.path, user);
  try {
    await mkdir(userDir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const path = join(userDir, `${name}.top`);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    await fh.writeFile(topBytes(top));
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  if (opts.mtimeMs !== undefined) await utimes(path, opts.mtimeMs / 1000, opts.mtimeMs / 1000);
  return path;
}

/** The CredD's LOCAL_STORE_CRED: a `.top` whose content is the user name, for a local-issuer provider. */
export function storeLocalCred(dir: CredDir, user: string, service: string): Promise<string> {
  return storeCred(dir, user, service, user);
}

/** The attributes of one key-file ad, in the order the CredD assigns them. */
export const KEY_AD_ATTRIBUTES = [
  'Provider',
  'LocalUser',
  'Handle',
  'Scopes',
  'Audience',
  'ClientId',
  'ClientSecret',
  'ReturnUrl',
  'AuthorizationUrl',
  'TokenUrl',
] as const;

export type KeyAdAttribute = (typeof KEY_AD_ATTRIBUTES)[number];

/**
 * One ad as the CredD's check_creds builds it: every attribute present, empty when the request or the
 * configuration had no value; `ReturnUrl` is `CREDMON_WEB_PREFIX` + `<P>_RETURN_URL_SUFFIX`.
 */
export function credDKeyAd(
  values: Partial<Record<KeyAdAttribute, string>> & { Provider: string; LocalUser: string },
) {
  const ad: Record<string, string> = {};
  for (const name of KEY_AD_ATTRIBUTES) ad[name] = values[name] ?? '';
  return ad;
}

/** A string in old ClassAd syntax: double quotes, an embedded `"` escaped as `\"`. */
function oldClassAdString(value: string): string {
  if (/[\n\r]/.test(value)) throw new Error('credd helper: a ClassAd string value cannot hold a line break');
  return `"${value.replace(/"/g, '\\"')}"`;
}

/** The text of a key file: each ad `Name = "value"` a line, ads separated by one blank line. */
export function keyFileText(ads: Array<Record<string, string>>): string {
  return ads
    .map((ad) =>
      Object.entries(ad)
        .map(([k, v]) => `${k} = ${oldClassAdString(v)}\n`)
        .join(''),
    )
    .join('\n');
}

/**
 * Writes a key file as the CredD does when `condor_submit` needs a login: a 64-hex name (32 random
 * bytes), mode 0640, as the CredD's user. Returns the name (the URL is `<web prefix>/key/<name>`).
 * `opts.mtimeMs` ages it (key files older than 12 h are removed by the credmon).
 */
export async function writeKeyFile(
  dir: CredDir,
  ads: Array<Record<string, string>>,
  opts: { mtimeMs?: number } = {},
): Promise<string> {
  const name = randomBytes(32).toString('hex');
  const path = join(dir.path, name);
  await writeFile(path, keyFileText(ads), { mode: 0o640, flag: 'wx' });
  await chmod(path, 0o640);
  if (opts.mtimeMs !== undefined) await utimes(path, opts.mtimeMs / 1000, opts.mtimeMs / 1000);
  return name;
}

/**
 * Marks a user for sweeping as the CredD does when the user's last job leaves: `<user>.mark` (0600,
 * kept if it exists), only when the user's directory exists. Returns whether a mark was made.
 */
export async function markUser(
  dir: CredDir,
  user: string,
  opts: { mtimeMs?: number } = {},
): Promise<boolean> {
  const exists = await stat(join(dir.path, user)).then(
    () => true,
    () => false,
  );
  if (!exists) return false;
  const path = join(dir.path, `${user}.mark`);
  await writeFile(path, '', { mode: 0o600, flag: 'a' });
  if (opts.mtimeMs !== undefined) await utimes(path, opts.mtimeMs / 1000, opts.mtimeMs / 1000);
  return true;
}

/** Reads `pid` as the CredD does (credmon_kick): at most 256 bytes, a positive decimal number. */
export async function readCredmonPid(dir: CredDir): Promise<number> {
  const file = join(dir.path, 'pid');
  const text = (await readFile(file)).subarray(0, 256).toString('latin1');
  const m = /^\s*(\d+)/.exec(text);
  const pid = m ? Number(m[1]) : 0;
  if (!(pid > 0))
    throw new Error(`credd helper: ${file} holds no pid (${JSON.stringify(text.slice(0, 40))})`);
  return pid;
}

/** Wakes the credmon as the CredD does after storing a credential: SIGHUP to the pid in `pid`. */
export async function signalCredmon(dir: CredDir, sig: NodeJS.Signals = 'SIGHUP'): Promise<void> {
  process.kill(await readCredmonPid(dir), sig);
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** Polls for `path` to exist (with mtime at or after `sinceMs`) as the CredD polls, every `pollMs`. */
export async function waitForFile(
  path: string,
  sinceMs: number,
  timeoutMs: number,
  pollMs = 5,
): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await statOrUndefined(path);
    if (st && st.mtimeMs >= sinceMs) return st;
    if (Date.now() >= deadline)
      throw new Error(
        `credd helper: ${path} ${st ? `not touched since ${new Date(sinceMs).toISOString()}` : 'never appeared'} within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Waits as the CredD and the master do (credmon_poll_for_completion) for `CREDMON_COMPLETE`, here also
 * requiring it to have been touched at or after `sinceMs` (a full pass finished after that moment).
 * mtime has the file system's resolution: pass a `sinceMs` a little in the past, or a value read from
 * the file system, not Date.now() taken just before.
 */
export async function waitForCredmonComplete(
  dir: CredDir,
  sinceMs: number,
  timeoutMs: number,
): Promise<void> {
  await waitForFile(join(dir.path, 'CREDMON_COMPLETE'), sinceMs, timeoutMs);
}

/**
 * Reads a file as HTCondor's read_secure_file does for the shadow and the starter: a regular file,
 * owned by `opts.owner` (default: our real uid, root under condor_master), no group or other permission
 * bits, not modified while read. With
 * `trustCredentialDirectory` the owner and mode checks are skipped (TRUST_CREDENTIAL_DIRECTORY). Throws
 * an Error saying which rule failed.
 */
export async function readSecureFile(
  path: string,
  opts: {
    trustCredentialDirectory?: boolean;
    owner?: number;
    checkOwner?: boolean;
    followSymlinks?: boolean;
  } = {},
): Promise<Buffer> {
  // HTCondor opens with safe_fopen_wrapper_follow, which follows a final symlink; by default this check
  // is stricter and refuses one, since the credmon never writes a link (followSymlinks: HTCondor's rule).
  if (!opts.followSymlinks) {
    const link = await lstat(path);
    if (link.isSymbolicLink()) throw new Error(`read_secure_file(${path}): is a symbolic link`);
  }
  const fh = await open(path, constants.O_RDONLY | (opts.followSymlinks ? 0 : constants.O_NOFOLLOW));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`read_secure_file(${path}): not a regular file`);
    if (!opts.trustCredentialDirectory) {
      const owner = opts.owner ?? process.getuid?.() ?? 0;
      if (opts.checkOwner !== false && st.uid !== owner)
        throw new Error(`read_secure_file(${path}): file must be owned by uid ${owner}, was uid ${st.uid}`);
      if ((st.mode & 0o077) !== 0)
        throw new Error(
          `read_secure_file(${path}): file must not be readable by others, had perms ${(st.mode & 0o7777).toString(8)}`,
        );
    }
    const data = await fh.readFile();
    if (data.length !== st.size)
      throw new Error(`read_secure_file(${path}): short read ${data.length} != ${st.size}`);
    const st2 = await fh.stat();
    if (st2.mtimeMs !== st.mtimeMs)
      throw new Error(`read_secure_file(${path}): file modified during reading`);
    return data;
  } finally {
    await fh.close();
  }
}

/**
 * Writes `<dir>/condor_config`: `preamble` verbatim, one `KEY = VALUE` line per knob, then `extra`
 * verbatim (includes, `use feature : OAUTH`, conditionals). Returns its path, for `CONDOR_CONFIG`.
 */
export async function condorConfigFixture(
  dir: string,
  knobs: Record<string, string>,
  extra = '',
  preamble = '',
): Promise<string> {
  const path = join(dir, 'condor_config');
  const lines = Object.entries(knobs).map(([k, v]) => `${k} = ${v}`);
  await writeFile(
    path,
    `# written by a test\n${preamble}${lines.join('\n')}\n${extra}${extra.endsWith('\n') || !extra ? '' : '\n'}`,
  );
  return path;
}

/**
 * A condor_config for a credmon under test, as a site with `use feature : OAUTH` has it: the credential
 * directory `dir`, the log and (when `knobs` name local-issuer providers) the local issuer's key files
 * under `parent`, so nothing touches /etc or /var; then `knobs` (which win). Returns the path of the file, for `CONDOR_CONFIG` or
 * `--condor-config`.
 */
export async function credmonConfigFixture(
  dir: CredDir,
  parent: string,
  knobs: Record<string, string> = {},
  extra = '',
): Promise<string> {
  const localIssuer = Object.keys(knobs).some((k) => /^LOCAL_CREDMON_PROVIDER_NAMES?$/i.test(k));
  const base: Record<string, string> = {
    LOG: join(parent, 'log'),
    SEC_CREDENTIAL_DIRECTORY_OAUTH: dir.path,
    CREDMON_OAUTH_LOG: '$(LOG)/CredMonOAuthLog',
    // Only with a local issuer: a local-issuer knob alone turns on the default `scitokens` issuer.
    ...(localIssuer
      ? {
          LOCAL_CREDMON_PRIVATE_KEY: join(parent, 'scitokens-private.pem'),
          LOCAL_CREDMON_PUBLIC_KEY: join(parent, 'scitokens.pem'),
        }
      : {}),
    ...knobs,
  };
  await mkdir(join(parent, 'log'), { recursive: true });
  return condorConfigFixture(parent, base, extra, 'use feature : OAUTH\n');
}
