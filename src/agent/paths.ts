import { mkdir, mkdtemp, rm, rmdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
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
export async function prepareSocketDirectory(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TokenwardenError('FILE_IO', `cannot create the socket directory ${dir}: ${reason}`, {
      cause: err,
    });
  }
  const st = await stat(dir);
  if ((st.mode & 0o077) !== 0 || (process.getuid && st.uid !== process.getuid())) {
    throw new TokenwardenError('FILE_UNSAFE', `socket directory ${dir} must be yours and mode 0700`, {
      hint: `run: chmod 700 ${dir}, or give another --socket`,
    });
  }
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
