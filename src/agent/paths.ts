import { mkdir, mkdtemp, rm, rmdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';

/** The name prefix of the private socket directory made when XDG_RUNTIME_DIR is unset. */
const PRIVATE_DIR_PREFIX = 'tokenwarden-';

/**
 * Where the agent's socket lives: `$XDG_RUNTIME_DIR/tokenwarden/agent.sock` (a per-user 0700 tmpfs), or,
 * without XDG_RUNTIME_DIR, a fresh private directory with an unpredictable name (never a fixed /tmp path).
 */
export async function newSocketPath(env: Record<string, string | undefined>): Promise<string> {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tokenwarden', 'agent.sock');
  return join(await mkdtemp(join(tmpdir(), PRIVATE_DIR_PREFIX)), 'agent.sock');
}

/**
 * After the agent closed: removes the private directory newSocketPath made under the temp directory
 * (with its log), so that stopped agents leave nothing in /tmp. Any other directory is left alone.
 */
export async function removePrivateSocketDirectory(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  if (dirname(dir) !== tmpdir() || !basename(dir).startsWith(PRIVATE_DIR_PREFIX)) return;
  await rm(agentLogPath(socketPath), { force: true });
  await rm(`${agentLogPath(socketPath)}.1`, { force: true });
  await rmdir(dir).catch(() => undefined); // not empty: something else is in it; keep it
}

/** Where clients look: `$TOKENWARDEN_SOCK`, else the XDG default. */
export function clientSocketPath(env: Record<string, string | undefined>): string | undefined {
  if (env.TOKENWARDEN_SOCK) return env.TOKENWARDEN_SOCK;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tokenwarden', 'agent.sock');
  return undefined;
}

/** The detached agent's diagnostics (never secrets), beside its socket in the private directory. */
export function agentLogPath(socketPath: string): string {
  return join(dirname(socketPath), 'agent.log');
}

/**
 * Creates the socket's directory (0700) if missing and refuses one that is not the caller's own or that
 * others can enter: the socket hands out access tokens to whoever can connect.
 */
export async function prepareSocketDirectory(
  socketPath: string,
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  const dir = resolve(dirname(socketPath));
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TokenwardenError('FILE_IO', `cannot create the socket directory ${dir}: ${reason}`, {
      cause: err,
    });
  }
  const st = await stat(dir);
  const uid = process.getuid?.();
  if ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new TokenwardenError('FILE_UNSAFE', `socket directory ${dir} must be yours and mode 0700`, {
      hint: socketDirectoryHint(dir, { uid: st.uid, mode: st.mode }, uid, env),
    });
  }
}

/** Directories that are shared by design, or hold other things: never chmod them to suit a socket. */
const SHARED_DIRECTORIES = ['/', '/tmp', '/var/tmp', '/dev/shm', '/run', '/var', '/home', '/root', '/etc'];

/**
 * What to do about a socket directory that others can enter. `chmod 700` only for a directory of the
 * user's own that exists for private things: never a shared or system directory (/tmp, /var/tmp, /, ...),
 * a sticky or world-writable one, the working directory or one above it, or the home directory, where
 * the change would break other users or programs (and for root, weaken or lock up the system).
 * Otherwise: a private directory of its own. Pure apart from reading cwd and home.
 */
export function socketDirectoryHint(
  dir: string,
  st: { uid: number; mode: number },
  uid: number | undefined,
  env: Record<string, string | undefined>,
): string {
  const cwd = process.cwd();
  const shared =
    SHARED_DIRECTORIES.includes(dir) ||
    (st.mode & 0o1002) !== 0 ||
    dir === cwd ||
    cwd.startsWith(`${dir}/`) ||
    dir === resolve(env.HOME ?? homedir()) ||
    (uid !== undefined && st.uid !== uid);
  if (!shared) return `run: chmod 700 ${dir}, or give another --socket`;
  const xdg = env.XDG_RUNTIME_DIR;
  const suggestion =
    xdg && resolve(xdg) !== dir
      ? `--socket ${join(xdg, 'tokenwarden', 'agent.sock')}`
      : '--socket DIR/agent.sock with a new directory of your own (mkdir -m 700 DIR)';
  return `${dir} is not a private directory (and must stay as it is): leave out --socket (the agent then makes a private directory), or give ${suggestion}`;
}

/** True when something accepts connections on the socket: a live agent, whose socket must not be taken. */
export function socketIsLive(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
