/**
 * Agent benchmarks (issue 3), all against the bundled test issuer in one run:
 * - the real `oidc-token --aud X ACCOUNT`, repeated, against tokenwarden's agent and against oidc-agent
 *   (which refreshes on every call that carries --aud or --scope);
 * - `oidc-token -f ACCOUNT` (a forced refresh with rotation, stored durably) against both agents;
 * - `tokenwarden token ACCOUNT` served from the agent's cache, beside bare `node -e 0` start-up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../src/secret.js';
import { createAccount } from '../src/setup/index.js';
import { createFileStore } from '../src/store/index.js';
import { CLI, median, ms, printRows, type Row, run, startIssuerProcess, startOidcAgent } from './lib.js';

const SAMPLES = Number(process.env.BENCH_AGENT_SAMPLES ?? 20);
const SCOPE = 'openid offline_access storage.read:/ compute.read';
const CLIENT_SECRET = `bench-${Math.random().toString(36).slice(2)}-secret`;
const AUD = '--aud=https://xrootd.example.org';

async function makeAccount(url: string, dir: string): Promise<string> {
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  await writeFile(join(dir, 'vo.pw'), `${password}\n`, { mode: 0o600 });
  const store = createFileStore({
    credentialFile: () => join(dir, 'state', 'accounts', 'vo.cred'),
    lockFile: () => join(dir, 'state', 'locks', 'vo.lock'),
    password: async () => new Secret(password),
  });
  await createAccount({
    account: 'vo',
    issuer: url,
    mode: 'manual',
    flow: 'device',
    clientId: 'bench',
    clientSecret: new Secret(CLIENT_SECRET),
    scope: SCOPE.split(' '),
    store,
    ctx: { timeoutSeconds: 30 },
  });
  await store.close();
  const config = join(dir, 'config.ini');
  await writeFile(
    config,
    `[DEFAULT]\nstate_dir = ${dir}/state\n\n[account vo]\npassword_file = ${dir}/vo.pw\nissuer = ${url}\n`,
  );
  return config;
}

/** `tokenwarden agent --foreground`; resolves with its sockets once it has printed them. */
async function startAgent(dir: string): Promise<{ child: ChildProcess; sock: string; oidcSock: string }> {
  const runDir = join(dir, 'run');
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, [CLI, 'agent', '--foreground'], {
    env: { ...process.env, XDG_RUNTIME_DIR: runDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d;
      if (text.includes('echo Agent pid')) resolve(text);
    });
    child.on('exit', (code) => reject(new Error(`agent exited ${code}`)));
  });
  const sock = /TOKENWARDEN_SOCK=([^;]+);/.exec(out)?.[1];
  const oidcSock = /OIDC_SOCK=([^;]+);/.exec(out)?.[1];
  if (!sock || !oidcSock) throw new Error(`agent printed no socket: ${out}`);
  return { child, sock, oidcSock };
}

async function repeat(
  n: number,
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ median: number; outputs: Set<string> }> {
  const times: number[] = [];
  const outputs = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await run(cmd, args, env);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    times.push(r.ms);
    outputs.add(r.stdout);
  }
  return { median: median(times), outputs };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-agent-'));
  const issuer = await startIssuerProcess(dir, { bench: CLIENT_SECRET }, [
    '--auto-approve',
    'bench',
    '--token-ttl',
    '3600',
  ]);
  let agent: ChildProcess | undefined;
  let real: { stop(): void } | undefined;
  try {
    const config = await makeAccount(issuer.url, dir);
    const ours = await startAgent(dir);
    agent = ours.child;
    const add = await run(process.execPath, [CLI, 'add', 'vo', '--config', config], {
      TOKENWARDEN_SOCK: ours.sock,
    });
    if (add.code !== 0) throw new Error(`add: ${add.stderr}`);
    const oidcAgent = await startOidcAgent(issuer.url, join(dir, 'oidc-home'), {
      clientId: 'bench',
      clientSecret: CLIENT_SECRET,
      scope: SCOPE,
      account: 'vo',
    });
    real = oidcAgent;

    // One warm-up call each, so both agents have done their first refresh before timing.
    await repeat(1, 'oidc-token', [AUD, 'vo'], { OIDC_SOCK: ours.oidcSock });
    await repeat(1, 'oidc-token', [AUD, 'vo'], oidcAgent.env);
    const oursAud = await repeat(SAMPLES, 'oidc-token', [AUD, 'vo'], { OIDC_SOCK: ours.oidcSock });
    const theirsAud = await repeat(SAMPLES, 'oidc-token', [AUD, 'vo'], oidcAgent.env);
    const theirsPlain = await repeat(SAMPLES, 'oidc-token', ['vo'], oidcAgent.env);
    const tokenEnv = { TOKENWARDEN_SOCK: ours.sock };
    await repeat(1, process.execPath, [CLI, 'token', 'vo'], tokenEnv);
    // Interleaved with node -e 0, so that drift in the machine's load falls on both alike.
    const cli = { median: 0, outputs: new Set<string>() };
    const nodeTimes: number[] = [];
    const cliTimes: number[] = [];
    for (let i = 0; i < 2 * SAMPLES; i++) {
      const r = await repeat(1, process.execPath, [CLI, 'token', 'vo'], tokenEnv);
      cliTimes.push(r.median);
      for (const o of r.outputs) cli.outputs.add(o);
      nodeTimes.push((await repeat(1, process.execPath, ['-e', '0'], {})).median);
    }
    cli.median = median(cliTimes);
    const node = { median: median(nodeTimes) };
    // A forced refresh, rotation and durable store write included, through the same client binary.
    const oursForced = await repeat(SAMPLES, 'oidc-token', ['-f', 'vo'], { OIDC_SOCK: ours.oidcSock });
    const theirsForced = await repeat(Math.min(SAMPLES, 10), 'oidc-token', ['-f', 'vo'], oidcAgent.env);
    // Served from cache means one token for all calls; oidc-agent's --aud calls each get a new one.
    const cached = (s: { outputs: Set<string> }) =>
      s.outputs.size === 1 ? 'one token' : `${s.outputs.size} tokens`;

    const rows: Row[] = [
      {
        bench: `oidc-token ${AUD} vo, median of ${SAMPLES} (tokenwarden agent: ${cached(oursAud)})`,
        tokenwarden: ms(oursAud.median),
        anchorName: `same against oidc-agent (${cached(theirsAud)})`,
        anchor: ms(theirsAud.median),
        ratio: `${(theirsAud.median / oursAud.median).toFixed(1)}x faster`,
      },
      {
        bench: `oidc-token ${AUD} vo, median of ${SAMPLES}`,
        tokenwarden: ms(oursAud.median),
        anchorName: 'oidc-token vo (no --aud, cached) against oidc-agent',
        anchor: ms(theirsPlain.median),
        ratio: `${(oursAud.median / theirsPlain.median).toFixed(2)}x oidc-agent's own cache`,
      },
      {
        bench: `oidc-token -f vo (refresh + rotation + durable store), median of ${SAMPLES}`,
        tokenwarden: ms(oursForced.median),
        anchorName: `same against oidc-agent, median of ${Math.min(SAMPLES, 10)}`,
        anchor: ms(theirsForced.median),
        ratio: `${(theirsForced.median / oursForced.median).toFixed(1)}x faster`,
      },
      {
        bench: `tokenwarden token vo from cache, median of ${2 * SAMPLES} (${cached(cli)})`,
        tokenwarden: ms(cli.median),
        anchorName: `node -e 0, interleaved, median of ${2 * SAMPLES}`,
        anchor: ms(node.median),
        ratio: `${(cli.median / node.median).toFixed(2)}x node start-up`,
      },
    ];
    printRows(rows);
  } finally {
    agent?.kill('SIGTERM');
    real?.stop();
    issuer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
