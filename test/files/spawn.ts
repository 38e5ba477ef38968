import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled test/files/child.ts. */
export const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** Resolves with the first JSON line the child prints. */
  firstMessage: Promise<Record<string, unknown>>;
  /** Resolves when the child exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Runs child.ts in MODE; `shell` wraps it (e.g. to set a ulimit first). */
export function spawnChild(mode: string, args: Record<string, unknown>, shellPrefix?: string): Child {
  const argv = [CHILD, mode, JSON.stringify(args)];
  const child =
    shellPrefix === undefined
      ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `${shellPrefix}; exec "$0" "$@"`, process.execPath, ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    },
  );
  const firstMessage = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`child ${mode} exited (${code ?? signal}) before reporting: ${stderr}`)),
    );
  });
  // The rejection after a report is expected; only an unreported exit matters.
  firstMessage.catch(() => undefined);
  return { process: child, firstMessage, exited };
}
