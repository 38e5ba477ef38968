import { readFile, stat } from 'node:fs/promises';
import { arch, hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { configProblem } from './errors.js';

/** Where HTCondor looks for its first configuration file when CONDOR_CONFIG is not set (Unix). */
export const CONDOR_CONFIG_SEARCH = ['/etc/condor/condor_config', '/usr/local/etc/condor_config'] as const;

export interface LocateCondorConfigOptions {
  /** `--condor-config FILE`: wins over everything. */
  cliPath?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** The search list (default CONDOR_CONFIG_SEARCH, then ~condor/condor_config). */
  search?: readonly string[];
  /** The home directory of the user `condor`, for ~condor/condor_config (default from /etc/passwd). */
  condorHome?: string | undefined;
}

/** The first file to read, how it was found, or `source: undefined` for no file at all. */
export interface LocatedConfig {
  source: string | undefined;
  how: string;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The home directory of `user` from /etc/passwd, or undefined. */
export async function homeOf(user: string, passwd = '/etc/passwd'): Promise<string | undefined> {
  const text = await readFile(passwd, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f[5]) return f[5];
  }
  return undefined;
}

/**
 * HTCondor's search for the first configuration file (condor_config.cpp): `--condor-config`, else
 * `CONDOR_CONFIG` (`ONLY_ENV`: no file, only `_CONDOR_` variables; `/dev/null`: no file; a file that
 * cannot be read is an error, not a reason to look further), else the first of /etc/condor/condor_config,
 * /usr/local/etc/condor_config, ~condor/condor_config that exists. A command (`CMD|`) is refused.
 */
export async function locateCondorConfig(opts: LocateCondorConfigOptions): Promise<LocatedConfig> {
  const check = async (given: string, how: string): Promise<LocatedConfig> => {
    if (given.trim().endsWith('|'))
      throw configProblem(
        how,
        'the configuration is a command: tokenwarden does not run commands to read its configuration',
        'write its output to a file and name that file',
      );
    if (given === '/dev/null') return { source: undefined, how };
    const path = resolve(given);
    if (!(await isFile(path)))
      throw configProblem(
        how,
        `${path} is not a readable configuration file`,
        'fix the path, or unset it to use /etc/condor/condor_config',
      );
    return { source: path, how };
  };
  if (opts.cliPath !== undefined && opts.cliPath !== '') return check(opts.cliPath, '--condor-config');
  const env = opts.env.CONDOR_CONFIG;
  if (env !== undefined && env !== '') {
    if (env.toUpperCase() === 'ONLY_ENV') return { source: undefined, how: 'CONDOR_CONFIG=ONLY_ENV' };
    return check(env, 'CONDOR_CONFIG');
  }
  const search = [...(opts.search ?? CONDOR_CONFIG_SEARCH)];
  const home = opts.condorHome ?? (opts.search === undefined ? await homeOf('condor') : undefined);
  if (home) search.push(`${home.replace(/\/$/, '')}/condor_config`);
  for (const path of search) if (await isFile(path)) return { source: path, how: 'search' };
  throw configProblem(
    undefined,
    `no HTCondor configuration: CONDOR_CONFIG is not set and none of ${search.join(', ')} exists`,
    'set CONDOR_CONFIG or pass --condor-config FILE (CONDOR_CONFIG=ONLY_ENV reads only _CONDOR_ variables)',
  );
}

/**
 * The macros HTCondor detects at run time: FULL_HOSTNAME and HOSTNAME (from the host name; FULL_HOSTNAME
 * gets DEFAULT_DOMAIN_NAME's help only through the configuration), TILDE (condor's home, when the user
 * exists), SUBSYSTEM, USERNAME, PID, PPID, OPSYS, ARCH. Tests pass their own.
 */
export async function detectMacros(subsystem: string): Promise<Map<string, string>> {
  const full = hostname();
  const m = new Map<string, string>([
    ['FULL_HOSTNAME', full],
    ['HOSTNAME', full.split('.')[0] ?? full],
    ['SUBSYSTEM', subsystem.toUpperCase()],
    ['USERNAME', userInfo().username],
    ['PID', String(process.pid)],
    ['PPID', String(process.ppid)],
    ['OPSYS', 'LINUX'],
    ['ARCH', arch() === 'x64' ? 'X86_64' : arch() === 'arm64' ? 'AARCH64' : arch().toUpperCase()],
  ]);
  const tilde = await homeOf('condor');
  if (tilde) m.set('TILDE', tilde);
  return m;
}
