import type { Stats } from 'node:fs';
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { checkPathSafe } from '../files/index.js';
import { Secret } from '../secret.js';
import { DEFAULT_CONFIG_PATH, OSG_CONFIG_PATH } from './defaults.js';
import { configPlace } from './errors.js';
import { parseIni } from './ini.js';
import { resolveRenewerConfig } from './renewer.js';
import type { RenewerConfig } from './types.js';

/** Secret files hold one line; anything bigger is not one. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;
/** A config.ini is a few kB; one over a MiB is a mistake (or /dev/zero), refused before it is read. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
// O_NONBLOCK so that a FIFO at the path cannot hang the open; it is then refused as not a regular file.
const SECRET_READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Something the user should fix that does not stop the run: the core returns these as data, the CLI
 * prints them (each file once).
 */
export interface ConfigWarning {
  /** The file the warning is about. */
  file: string;
  message: string;
  hint?: string | undefined;
}

/** Adds `warning` to `warnings` unless that file was warned about already. */
function warnOnce(warnings: ConfigWarning[] | undefined, warning: ConfigWarning): void {
  if (warnings === undefined || warnings.some((w) => w.file === warning.file)) return;
  warnings.push(warning);
}

/**
 * The permission rule for files holding a secret: group- or world-writable is refused (anyone who can
 * write it can swap the secret, or the account, under us); world-readable is a warning, since osg
 * sites share config.ini with a service group (0640) but never with everyone. `what` names the file in
 * messages, e.g. `Config for [account A]: password_file /p`.
 */
function checkSecretFileMode(
  stats: Pick<Stats, 'mode'>,
  path: string,
  what: string,
  kind: 'secret file' | 'config',
  warnings: ConfigWarning[] | undefined,
): void {
  const mode = `mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}`;
  const writable = stats.mode & 0o022;
  if (writable !== 0) {
    const who =
      writable === 0o022 ? 'its group and every user' : writable & 0o002 ? 'every user' : 'its group';
    throw new TokenwardenError(
      'FILE_UNSAFE',
      `${what} is writable by ${who} (${mode}): whoever can write it can change the secret`,
      {
        hint: `run: chmod go-w ${path} (or chmod 600 ${path})`,
      },
    );
  }
  if ((stats.mode & 0o004) !== 0) {
    warnOnce(warnings, {
      file: path,
      message: `${what} is readable by every user (${mode})`,
      hint: kind === 'config' ? `run: chmod o-r ${path}` : `run: chmod 600 ${path} (or chmod o-r ${path})`,
    });
  }
}

/**
 * Which config.ini to read: `--config`, then $OSG_TOKEN_RENEWER_CONFIG_PATH (osg-token-renewer's
 * variable), then $TOKENWARDEN_CONFIG, then /etc/tokenwarden/config.ini, or, when that does not exist,
 * osg-token-renewer's /etc/osg/token-renewer/config.ini if it does. Empty values are skipped; the result
 * is absolute, since it ends up in systemd units and hints. When neither default exists, the result is
 * /etc/tokenwarden/config.ini, and the "does not exist" error names both (missingConfigMessage).
 */
export function findConfigPath(options: {
  cliPath?: string | undefined;
  env: Record<string, string | undefined>;
  /** Whether a default path exists (tests inject one; default: existsSync). */
  exists?: (path: string) => boolean;
}): string {
  const { cliPath, env, exists = existsSync } = options;
  const named = cliPath || env.OSG_TOKEN_RENEWER_CONFIG_PATH || env.TOKENWARDEN_CONFIG;
  if (named) return resolve(named);
  if (!exists(DEFAULT_CONFIG_PATH) && exists(OSG_CONFIG_PATH)) return OSG_CONFIG_PATH;
  return DEFAULT_CONFIG_PATH;
}

/** The "no config" message: for the default path it names both places a config is looked for. */
export function missingConfigMessage(path: string): string {
  return path === DEFAULT_CONFIG_PATH
    ? `no config file: neither ${DEFAULT_CONFIG_PATH} nor ${OSG_CONFIG_PATH} exists`
    : `config file ${path} does not exist`;
}

export interface LoadRenewerConfigOptions {
  path: string;
  env: Record<string, string | undefined>;
  uid: number;
  home: string;
  /** Record semantic errors per section instead of throwing the first (see ResolveOptions). */
  collect?: boolean;
  /** Where warnings go (a world-readable config holding client_secret); the CLI prints them. */
  warnings?: ConfigWarning[] | undefined;
}

/**
 * Reads, parses and resolves config.ini. Missing file: CONFIG_NOT_FOUND; anything wrong: CONFIG_INVALID.
 * A device, FIFO or file over MAX_CONFIG_FILE_BYTES is refused before a byte is read. A config holding a
 * `client_secret` follows the secret-file rule (see checkSecretFileMode); its warnings go to `warnings`.
 */
export async function loadRenewerConfig(options: LoadRenewerConfigOptions): Promise<RenewerConfig> {
  const { path, env, uid, home } = options;
  const notFound = (cause: unknown) =>
    new TokenwardenError('CONFIG_NOT_FOUND', missingConfigMessage(path), {
      cause,
      hint:
        'create it (`tokenwarden setup ACCOUNT --write` adds an [account] section), ' +
        'or name another with --config PATH or $OSG_TOKEN_RENEWER_CONFIG_PATH',
    });
  const invalid = (reason: string, cause?: unknown) =>
    new TokenwardenError('CONFIG_INVALID', `config file ${path} ${reason}`, {
      ...(cause === undefined ? {} : { cause }),
      hint: 'give --config a config.ini file (a regular file of a few kB)',
    });
  let handle: FileHandle;
  try {
    handle = await open(path, SECRET_READ_FLAGS);
  } catch (cause) {
    const code = errnoCode(cause);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(cause);
    throw new TokenwardenError('CONFIG_INVALID', `cannot read config file ${path}: ${describeErrno(cause)}`, {
      cause,
    });
  }
  let bytes: Buffer;
  let stats: Stats;
  try {
    stats = await handle.stat();
    if (stats.isDirectory()) {
      throw new TokenwardenError('CONFIG_INVALID', `cannot read config file ${path}: is a directory`);
    }
    if (!stats.isFile()) throw invalid('is not a regular file (a device, FIFO or socket)');
    if (stats.size > MAX_CONFIG_FILE_BYTES) {
      throw invalid(`is larger than ${MAX_CONFIG_FILE_BYTES} bytes; a config.ini is a few kB`);
    }
    bytes = await handle.readFile();
    // The file may have grown between the stat and the read.
    if (bytes.length > MAX_CONFIG_FILE_BYTES) {
      throw invalid(`is larger than ${MAX_CONFIG_FILE_BYTES} bytes; a config.ini is a few kB`);
    }
  } catch (cause) {
    if (cause instanceof TokenwardenError) throw cause;
    throw new TokenwardenError('CONFIG_INVALID', `cannot read config file ${path}: ${describeErrno(cause)}`, {
      cause,
    });
  } finally {
    await handle.close().catch(() => undefined);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new TokenwardenError('CONFIG_INVALID', `config file ${path} is not UTF-8 text`, { cause });
  }
  const config = resolveRenewerConfig(
    parseIni(text, path),
    { file: path, env, uid, home },
    { collect: options.collect === true },
  );
  const holder = [...config.accounts.values()].find(
    (a) => a.kind === 'client_credentials' && a.clientSecret !== undefined,
  );
  if (holder !== undefined) {
    const what = `config file ${path}, which holds client_secret ([account ${holder.name}] line ${holder.line}),`;
    checkSecretFileMode(stats, path, what, 'config', options.warnings);
  }
  return config;
}

/**
 * The password of an account: the first line of its password file, without the newline (what
 * osg-token-renewer hands to `oidc-add --pw-cmd="cat FILE"`, which keeps the first line). `context`
 * names the section, e.g. `Config for [account A]`. Missing, unreadable or empty: PASSWORD_FILE.
 */
export async function readPasswordFile(
  path: string,
  context: string,
  warnings?: ConfigWarning[],
  options: SecretFileOptions = {},
): Promise<Secret> {
  return readFirstLine(path, context, 'password_file', warnings, options);
}

export interface SecretFileOptions {
  /**
   * The file (through any link) is on a local filesystem (files/ `onLocalDisk` of the file itself): it is
   * then read with plain system calls rather than through the thread pool, which a hung network mount
   * could hold past a run's deadline. The checks and messages are the same.
   */
  local?: boolean;
}

/** The client secret of a client-credentials account, from the first line of `client_secret_file`. */
export async function readClientSecretFile(
  path: string,
  context: string,
  warnings?: ConfigWarning[],
): Promise<Secret> {
  return readFirstLine(path, context, 'client_secret_file', warnings);
}

/**
 * Reads every secret file that a [token] needs, before anything else happens: the password file of each
 * refresh-token account and the client_secret_file of each client-credentials account that some [token]
 * uses. Fails on the first problem. Returns the passwords by account name; files readable by every
 * user are added to `warnings`.
 */
export async function checkAccountFiles(
  config: RenewerConfig,
  warnings?: ConfigWarning[],
): Promise<Map<string, Secret>> {
  const passwords = new Map<string, Secret>();
  const checked = new Set<string>();
  for (const token of config.tokens) {
    if (checked.has(token.account)) continue;
    checked.add(token.account);
    const account = config.accounts.get(token.account);
    if (account === undefined) continue; // resolveRenewerConfig has already refused such a config
    const context = configPlace(config.file, account.line, `account ${account.name}`);
    if (account.kind === 'refresh') {
      passwords.set(account.name, await readPasswordFile(account.passwordFile, context, warnings));
    } else if (account.clientSecretFile !== undefined) {
      await readClientSecretFile(account.clientSecretFile, context, warnings);
    }
  }
  return passwords;
}

async function readFirstLine(
  path: string,
  context: string,
  option: string,
  warnings: ConfigWarning[] | undefined,
  options: SecretFileOptions = {},
): Promise<Secret> {
  const fail = (reason: string, cause?: unknown): TokenwardenError =>
    new TokenwardenError('PASSWORD_FILE', `${context}: ${option} ${path}: ${reason}`, {
      cause,
      hint: `${option} must be a file readable by this user whose first line is the secret (mode 0600)`,
    });
  // A symlink or a directory another user planted in a shared directory must not choose our secret
  // (docs/architecture.md invariant 9); links elsewhere are the admin's and are followed.
  try {
    await checkPathSafe(path, 'read');
  } catch (cause) {
    if (!(cause instanceof TokenwardenError)) throw cause;
    throw new TokenwardenError('FILE_UNSAFE', `${context}: ${option}: ${cause.message}`, {
      cause,
      ...(cause.hint ? { hint: cause.hint } : {}),
    });
  }
  const inspect = (stats: Stats) => {
    if (stats.isDirectory()) throw fail('is a directory');
    if (!stats.isFile()) throw fail('is not a regular file');
    if (stats.size > MAX_SECRET_FILE_BYTES) throw fail(`is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    checkSecretFileMode(stats, path, `${context}: ${option} ${path}`, 'secret file', warnings);
  };
  const text = options.local
    ? readSecretTextSync(path, fail, inspect)
    : await readSecretText(path, fail, inspect);
  if (text === '') throw fail('is empty');
  const newline = text.indexOf('\n');
  const line = newline < 0 ? text : text.slice(0, newline);
  if (line === '') throw fail('its first line is empty');
  return new Secret(line);
}

type Fail = (reason: string, cause?: unknown) => TokenwardenError;

/** The whole text of a secret file, opened without following a symlink at the path, after `inspect`. */
async function readSecretText(path: string, fail: Fail, inspect: (s: Stats) => void): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, SECRET_READ_FLAGS);
  } catch (cause) {
    throw fail(describeErrno(cause), cause);
  }
  try {
    inspect(await handle.stat());
    return await handle.readFile('utf8');
  } catch (cause) {
    if (cause instanceof TokenwardenError) throw cause;
    throw fail(describeErrno(cause), cause);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** readSecretText with plain system calls, for a file on a local filesystem (SecretFileOptions). */
function readSecretTextSync(path: string, fail: Fail, inspect: (s: Stats) => void): string {
  let fd: number;
  try {
    fd = openSync(path, SECRET_READ_FLAGS);
  } catch (cause) {
    throw fail(describeErrno(cause), cause);
  }
  try {
    inspect(fstatSync(fd));
    return readFileSync(fd, 'utf8');
  } catch (cause) {
    if (cause instanceof TokenwardenError) throw cause;
    throw fail(describeErrno(cause), cause);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Only read: a failed close loses nothing.
    }
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ELOOP: 'too many symbolic links',
  ENXIO: 'is not a regular file',
  EIO: 'input/output error',
};

/** The errno text, without the path Node appends (our messages name the path as configured). */
function describeErrno(err: unknown): string {
  const code = errnoCode(err);
  if (code !== undefined && ERRNO_TEXT[code] !== undefined) return ERRNO_TEXT[code];
  return code ?? (err instanceof Error ? err.message : String(err));
}
