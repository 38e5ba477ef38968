import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const HAVE_OIDC_AGENT = ['oidc-agent', 'oidc-gen'].every((t) => existsSync(`/usr/bin/${t}`));

/** A real oidc-agent, isolated: its own HOME, config dir and socket inside `dir`. */
export interface RealOidcAgent {
  pid: number;
  sock: string;
  configDir: string;
  /** Environment for oidc-gen/oidc-add/oidc-token talking to this agent. */
  env: Record<string, string>;
  /** Kills this agent (by PID) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export async function startRealOidcAgent(dir: string): Promise<RealOidcAgent> {
  const configDir = join(dir, 'cfg');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const sock = join(dir, 'agent.sock');
  const env = { ...(process.env as Record<string, string>), HOME: dir, OIDC_CONFIG_DIR: configDir };
  // stdout is ignored: with a pipe, the agent's buffered "OIDC_SOCK=..." lines repeat in every fork.
  const child: ChildProcess = spawn('oidc-agent', ['-d', '--quiet', '-a', sock], {
    env,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(20);
  if (!existsSync(sock) || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error('oidc-agent did not create its socket');
  }
  const pid = child.pid;
  let stopping: Promise<void> | undefined;
  return {
    pid,
    sock,
    configDir,
    env: { ...env, OIDC_SOCK: sock },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          process.kill(pid, 'SIGTERM');
          const killer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 3000);
          await exited;
          clearTimeout(killer);
        }
      })();
      return stopping;
    },
  };
}

export interface OidcGenOptions {
  agent: RealOidcAgent;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  password: string;
  /** Approves the device code oidc-gen prints ("enter the code: XXXX-XXXX"). */
  approve: (userCode: string) => Promise<void>;
  timeoutMs?: number;
}

export interface OidcGenRun {
  code: number | null;
  output: string;
  userCode: string | undefined;
}

/** Runs `oidc-gen` through the device flow (docs/testing.md section 3.2), approving the code it shows. */
export function runOidcGenDeviceFlow(o: OidcGenOptions): Promise<OidcGenRun> {
  return new Promise((resolve, reject) => {
    const args = [
      `--iss=${o.issuer}`,
      '--flow=device',
      `--client-id=${o.clientId}`,
      `--client-secret=${o.clientSecret}`,
      `--scope=${o.scope}`,
      '--pw-env',
      '--confirm-default',
      '--prompt=none',
      '--no-url-call',
      o.name,
    ];
    const child = spawn('oidc-gen', args, {
      env: { ...o.agent.env, OIDC_ENCRYPTION_PW: o.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let userCode: string | undefined;
    let approval: Promise<void> = Promise.resolve();
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = userCode === undefined ? /enter the code: (\S+)/.exec(output) : null;
      if (m?.[1]) {
        userCode = m[1];
        approval = o.approve(userCode);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      approval.then(() => resolve({ code, output, userCode }), reject);
    });
  });
}
