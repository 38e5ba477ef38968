import { constants, existsSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { Secret } from '../secret.js';
import { DEFAULT_CONFIG_PATH, OSG_CONFIG_PATH } from './defaults.js';
import { configPlace } from './errors.js';
import { parseIni } from './ini.js';
import { resolveRenewerConfig } from './renewer.js';
import type { RenewerConfig } from './types.js';

/** Secret files hold one line; anything bigger is not one. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;
// O_NONBLOCK so that a FIFO at the path cannot hang the open; it is then refused as not a regular file.
const SECRET_READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

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
}

/** Reads, parses and resolves config.ini. Missing file: CONFIG_NOT_FOUND; anything wrong: CONFIG_INVALID. */
export async function loadRenewerConfig(options: LoadRenewerConfigOptions): Promise<RenewerConfig> {
  const { path, env, uid, home } = options;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = errnoCode(cause);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TokenwardenError('CONFIG_NOT_FOUND', missingConfigMessage(path), {
        cause,
        hint:
          'create it (`tokenwarden setup ACCOUNT --write` adds an [account] section), ' +
          'or name another with --config PATH or $OSG_TOKEN_RENEWER_CONFIG_PATH',
      });
    }
    throw new TokenwardenError('CONFIG_INVALID', `cannot read config file ${path}: ${describeErrno(cause)}`, {
      cause,
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new TokenwardenError('CONFIG_INVALID', `config file ${path} is not UTF-8 text`, { cause });
  }
  return resolveRenewerConfig(
    parseIni(text, path),
    { file: path, env, uid, home },
    { collect: options.collect === true },
  );
}

/**
 * The password of an account: the first line of its password file, without the newline (what
 * osg-token-renewer hands to `oidc-add --pw-cmd="cat FILE"`, which keeps the first line). `context`
 * names the section, e.g. `Config for [account A]`. Missing, unreadable or empty: PASSWORD_FILE.
 */
export async function readPasswordFile(path: string, context: string): Promise<Secret> {
  return readFirstLine(path, context, 'password_file');
}

/** The client secret of a client-credentials account, from the first line of `client_secret_file`. */
export async function readClientSecretFile(path: string, context: string): Promise<Secret> {
  return readFirstLine(path, context, 'client_secret_file');
}

/**
 * Reads every secret file that a [token] needs, before anything else happens: the password file of each
 * refresh-token account and the client_secret_file of each client-credentials account that some [token]
 * uses. Fails on the first problem. Returns the passwords by account name.
 */
export async function checkAccountFiles(config: RenewerConfig): Promise<Map<string, Secret>> {
  const passwords = new Map<string, Secret>();
  const checked = new Set<string>();
  for (const token of config.tokens) {
    if (checked.has(token.account)) continue;
    checked.add(token.account);
    const account = config.accounts.get(token.account);
    if (account === undefined) continue; // resolveRenewerConfig has already refused such a config
    const context = configPlace(config.file, account.line, `account ${account.name}`);
    if (account.kind === 'refresh') {
      passwords.set(account.name, await readPasswordFile(account.passwordFile, context));
    } else if (account.clientSecretFile !== undefined) {
      await readClientSecretFile(account.clientSecretFile, context);
    }
  }
  return passwords;
}

async function readFirstLine(path: string, context: string, option: string): Promise<Secret> {
  const fail = (reason: string, cause?: unknown): TokenwardenError =>
    new TokenwardenError('PASSWORD_FILE', `${context}: ${option} ${path}: ${reason}`, {
      cause,
      hint: `${option} must be a file readable by this user whose first line is the secret (mode 0600)`,
    });
  let handle: FileHandle;
  try {
    handle = await open(path, SECRET_READ_FLAGS);
  } catch (cause) {
    throw fail(describeErrno(cause), cause);
  }
  let text: string;
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw fail('is a directory');
    if (!stats.isFile()) throw fail('is not a regular file');
    if (stats.size > MAX_SECRET_FILE_BYTES) throw fail(`is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    text = await handle.readFile('utf8');
  } catch (cause) {
    if (cause instanceof TokenwardenError) throw cause;
    throw fail(describeErrno(cause), cause);
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (text === '') throw fail('is empty');
  const newline = text.indexOf('\n');
  const line = newline < 0 ? text : text.slice(0, newline);
  if (line === '') throw fail('its first line is empty');
  return new Secret(line);
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
