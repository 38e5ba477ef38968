import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Row {
  bench: string;
  tokenwarden: string;
  anchor: string;
  anchorName: string;
  ratio: string;
}

export function printRows(rows: Row[]): void {
  const head = ['benchmark', 'tokenwarden', 'anchor', 'anchor value', 'ratio'];
  const body = rows.map((r) => [r.bench, r.tokenwarden, r.anchorName, r.anchor, r.ratio]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const fmt = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(fmt(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(fmt(b));
}

export function ms(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(1)} ms`;
}

/** Runs a command to completion; resolves with its exit code, output and wall time. */
export function run(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Starts `tokenwarden test-issuer` in its own process (so the issuer does not share our event loop). */
export async function startIssuerProcess(
  args: string[],
): Promise<{ url: string; child: ChildProcess; stop(): void }> {
  const child = spawn(process.execPath, [CLI, 'test-issuer', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`test-issuer exited with ${code}`)));
  });
  return { url, child, stop: () => child.kill('SIGTERM') };
}
