import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, spawned as a user would run it. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Everything any CLI run of this test process printed, for the secret-leak audit. */
export const transcript: string[] = [];

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Called with each chunk of stderr as it arrives (e.g. to read a device user code). */
  onStderr?: (chunk: string) => void;
  /** The command prints a token on stdout by design (`token`): keep stdout out of the leak audit. */
  tokenOnStdout?: boolean;
}

export function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      options.onStderr?.(s);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      transcript.push(options.tokenOnStdout ? '' : stdout, stderr);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Asserts that no secret value occurs in anything the CLI printed in this test process. */
export function findLeaks(secrets: Iterable<string>): string[] {
  const all = transcript.join('\n');
  const leaks: string[] = [];
  for (const s of secrets) {
    const at = s.length >= 8 ? all.indexOf(s) : -1;
    // Name the secret by its first characters and show what was printed just before it, so a failure
    // says which output leaked without printing the secret itself.
    if (at >= 0) leaks.push(`${s.slice(0, 6)}… after ${JSON.stringify(all.slice(Math.max(0, at - 60), at))}`);
  }
  return leaks;
}
