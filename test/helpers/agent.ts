import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, transcript } from './cli.js';
import type { World } from './world.js';

export interface RunningAgent {
  child: ChildProcess;
  /** The socket (TOKENWARDEN_SOCK and OIDC_SOCK are the same path). */
  sock: string;
  /** What a client of this agent needs in its environment. */
  env: Record<string, string>;
}

/**
 * Starts `tokenwarden agent --foreground` as a child we can SIGKILL, with XDG_RUNTIME_DIR in the world's
 * directory; resolves once it has printed its export lines. Its stderr goes to the leak audit.
 */
export async function startAgent(world: World, extra: string[] = []): Promise<RunningAgent> {
  const run = join(world.dir, 'run');
  await mkdir(run, { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, [CLI, 'agent', '--foreground', ...extra], {
    env: { ...process.env, XDG_RUNTIME_DIR: run },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => transcript.push(d.toString()));
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d;
      if (text.includes('echo Agent pid')) resolve(text);
    });
    child.on('exit', (code) => reject(new Error(`agent exited ${code}`)));
  });
  const sock = /TOKENWARDEN_SOCK=([^;]+);/.exec(out)?.[1] as string;
  return { child, sock, env: { TOKENWARDEN_SOCK: sock, XDG_RUNTIME_DIR: run } };
}

/** Stops an agent child and waits until it has closed, so its last output is in the transcript. */
export function stopAgent(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGTERM');
  });
}
