import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * Starts `tokenwarden test-issuer` in its own process (so the issuer does not share our event loop), with
 * `clients` pre-registered through a 0600 `--clients-file` in `dir`: a secret on the command line would
 * be readable by every user of the machine in ps.
 */
export async function startIssuerProcess(
  dir: string,
  clients: Record<string, string>,
  args: string[],
): Promise<{ url: string; child: ChildProcess; stop(): void }> {
  const clientsFile = join(dir, 'issuer-clients');
  const lines = Object.entries(clients).map(([id, secret]) => `${id}:${secret}\n`);
  await writeFile(clientsFile, `# test-issuer clients, one ID:SECRET a line\n${lines.join('')}`, {
    mode: 0o600,
    flag: 'wx',
  });
  const child = spawn(process.execPath, [CLI, 'test-issuer', '--clients-file', clientsFile, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The issuer has read the file once it prints its URL: remove it then, or when the issuer failed.
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`test-issuer exited with ${code}`)));
  }).finally(() => rm(clientsFile, { force: true }));
  return { url, child, stop: () => child.kill('SIGTERM') };
}

export interface OidcAgentAccount {
  clientId: string;
  clientSecret: string;
  scope: string;
  account: string;
}

/**
 * Starts the real oidc-agent (Debian's oidc-agent-cli) isolated in `home`, and creates one account with
 * oidc-gen through the device flow (the issuer must auto-approve). `env` is what oidc-token needs.
 */
export async function startOidcAgent(
  issuer: string,
  home: string,
  account: OidcAgentAccount,
): Promise<{ env: Record<string, string>; stop(): void }> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const sock = join(home, 'agent.sock');
  const env = {
    HOME: home,
    OIDC_SOCK: sock,
    OIDC_ENCRYPTION_PW: 'bench-oidc-pw',
    OIDC_CONFIG_DIR: join(home, 'cfg'),
  };
  const agent = spawn('oidc-agent', ['-d', '--quiet', '-a', sock], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  agent.on('error', () => {});
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
  if (!existsSync(sock)) {
    agent.kill('SIGKILL');
    throw new Error('oidc-agent did not create its socket: is oidc-agent-cli installed (scripts/setup.sh)?');
  }
  // oidc-gen takes the client secret only on its command line; this is the peer's interface, with a
  // throw-away secret of the bench's own issuer.
  const gen = await run(
    'oidc-gen',
    [
      `--iss=${issuer}`,
      '--flow=device',
      `--client-id=${account.clientId}`,
      `--client-secret=${account.clientSecret}`,
      `--scope=${account.scope}`,
      '--pw-env',
      '--confirm-default',
      '--prompt=none',
      '--no-url-call',
      account.account,
    ],
    env,
  );
  if (gen.code !== 0) {
    agent.kill('SIGTERM');
    throw new Error(`oidc-gen failed: ${gen.stderr}`);
  }
  return { env, stop: () => agent.kill('SIGTERM') };
}
