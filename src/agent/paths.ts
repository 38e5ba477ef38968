import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the agent's socket lives: `$XDG_RUNTIME_DIR/tokenwarden/agent.sock` (a per-user 0700 tmpfs), or,
 * without XDG_RUNTIME_DIR, a fresh private directory with an unpredictable name (never a fixed /tmp path).
 */
export async function newSocketPath(env: Record<string, string | undefined>): Promise<string> {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tokenwarden', 'agent.sock');
  return join(await mkdtemp(join(tmpdir(), 'tokenwarden-')), 'agent.sock');
}

/** Where clients look: `$TOKENWARDEN_SOCK`, else the XDG default. */
export function clientSocketPath(env: Record<string, string | undefined>): string | undefined {
  if (env.TOKENWARDEN_SOCK) return env.TOKENWARDEN_SOCK;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tokenwarden', 'agent.sock');
  return undefined;
}
