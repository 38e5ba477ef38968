/**
 * Daemon benchmarks (issue 8): (a) sustained renewals per second of the daemon's scheduling path
 * (createDaemon driving renewTokens, real timers, real files, the test issuer in its own process with
 * short-lived tokens, many accounts), beside the issuer's own capacity measured in the same run: raw
 * refresh grants straight to the token endpoint, one chain per account, the same concurrency; (b) the
 * steady state of `tokenwarden daemon` (spawned as a user runs it) with 10,000 fresh tokens of 1,000
 * accounts: resident memory and CPU while idle, beside an idle `node` process.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveRenewerConfig } from '../src/config/index.js';
import { parseIni } from '../src/config/ini.js';
import { createDaemon } from '../src/renewal/daemon.js';
import { mapLimit } from '../src/renewal/index.js';
import { Secret } from '../src/secret.js';
import { createAccount } from '../src/setup/index.js';
import { type CredentialStore, createFileStore, GENERATED_PASSWORD_KDF_COST } from '../src/store/index.js';
import { CLI, median, ms, printRows, type Row, startIssuerProcess } from './lib.js';

const ACCOUNTS = Number(process.env.BENCH_DAEMON_ACCOUNTS ?? 40);
const TOKENS = Number(process.env.BENCH_DAEMON_TOKENS ?? 10);
/** Lifetime of the issuer's access tokens: short, so every token comes due again and again. */
const TTL = Number(process.env.BENCH_DAEMON_TTL ?? 4);
const WINDOW_S = Number(process.env.BENCH_DAEMON_WINDOW ?? 15);
/** `rate` or `idle`: run only that part (the other rows are left out). */
const ONLY = process.env.BENCH_DAEMON_ONLY;
const SCRAPES = Number(process.env.BENCH_DAEMON_SCRAPES ?? 15);
const IDLE_TOKENS = Number(process.env.BENCH_IDLE_TOKENS ?? 10_000);
const IDLE_ACCOUNTS = Number(process.env.BENCH_IDLE_ACCOUNTS ?? 1_000);
const IDLE_S = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const SCOPES = ['storage.read:/', 'compute.read', 'storage.create:/'];
const CLIENT_SECRET = `bench-${Math.random().toString(36).slice(2)}-secret`;

function storeFor(dir: string, password: (a: string) => Promise<Secret>): CredentialStore {
  return createFileStore({
    credentialFile: (a) => join(dir, 'state', 'accounts', `${a}.cred`),
    lockFile: (a) => join(dir, 'state', 'locks', `${a}.lock`),
    password,
    kdf: GENERATED_PASSWORD_KDF_COST,
  });
}

async function makeAccounts(url: string, dir: string, names: string[]): Promise<void> {
  await mapLimit(names, 16, async (name) => {
    const password = randomBytes(32).toString('base64url');
    await writeFile(join(dir, `${name}.pw`), `${password}\n`, { mode: 0o600 });
    const store = storeFor(dir, async () => new Secret(password));
    await createAccount({
      account: name,
      issuer: url,
      mode: 'manual',
      flow: 'device',
      clientId: 'bench',
      clientSecret: new Secret(CLIENT_SECRET),
      scope: ['openid', 'offline_access', ...SCOPES],
      store,
      ctx: { timeoutSeconds: 30 },
    });
    await store.close();
  });
}

function config(url: string, dir: string, names: string[], tokens: number, minLifetime: number): string {
  let text = `[DEFAULT]\nstate_dir = ${dir}/state\n\n`;
  for (const a of names) {
    text += `[account ${a}]\npassword_file = ${dir}/${a}.pw\nissuer = ${url}\n\n`;
    for (let j = 0; j < tokens; j++) {
      text += `[token ${a}-t${j}]\naccount = ${a}\ntoken_path = ${dir}/tokens/${a}.t${j}.token\n`;
      text += `audience = https://s${j}.example.org\nscope = ${SCOPES[j % SCOPES.length]}\nmin_lifetime = ${minLifetime}\n\n`;
    }
  }
  return text;
}

async function passwordOf(dir: string, a: string): Promise<Secret> {
  return new Secret((await readFile(join(dir, `${a}.pw`), 'utf8')).trim());
}

/** (a) The daemon renewing ACCOUNTS x TOKENS short-lived tokens for WINDOW_S seconds after a warm-up. */
async function sustained(
  url: string,
  dir: string,
  names: string[],
  issuerPid: number,
): Promise<{ perSecond: number; failed: number; cpu: Cpu }> {
  const file = join(dir, 'daemon.ini');
  // min_lifetime one second short of the tokens' lifetime: each token is due again about a second after
  // it was issued (less its jitter), and TOKENS of them per account keep every account's queue full,
  // so the daemon renews as fast as it can and what is measured is its capacity, not the schedule.
  // (A min_lifetime at or above the lifetime would not do: the daemon then waits 5 s between renewals
  // of a token rather than renewing it in a loop.)
  await writeFile(file, config(url, dir, names, TOKENS, TTL - 1));
  let renewed = 0;
  let failed = 0;
  const daemon = createDaemon({
    load: async () => {
      const text = await readFile(file, 'utf8');
      const cfg = resolveRenewerConfig(
        parseIni(text, file),
        { file, env: {}, uid: process.getuid?.() ?? 0, home: dir },
        { collect: true },
      );
      return {
        config: cfg,
        store: storeFor(dir, (a) => passwordOf(dir, a)),
        clientSecret: async () => new Secret(CLIENT_SECRET),
      };
    },
    concurrency: ACCOUNTS,
    log: (e) => {
      if (e.type === 'renewed') renewed++;
      if (e.type === 'failed') failed++;
    },
  });
  await daemon.start();
  await sleep(2 * TTL * 1000);
  const r0 = renewed;
  const t0 = performance.now();
  const c0 = await cpuNow(issuerPid);
  await sleep(WINDOW_S * 1000);
  const count = renewed - r0;
  const cpu = cpuPer(c0, await cpuNow(issuerPid), count);
  const elapsed = (performance.now() - t0) / 1000;
  await daemon.close();
  return { perSecond: count / elapsed, failed, cpu };
}

/** The issuer's own capacity: refresh grants straight to its token endpoint, one chain per account. */
async function raw(
  url: string,
  dir: string,
  names: string[],
  issuerPid: number,
): Promise<{ perSecond: number; cpu: Cpu }> {
  const chains = new Map<string, string>();
  for (const a of names) {
    const store = storeFor(dir, (x) => passwordOf(dir, x));
    chains.set(a, (await store.load(a))?.refreshToken?.reveal() as string);
    await store.close();
  }
  const auth = `Basic ${Buffer.from(`bench:${CLIENT_SECRET}`).toString('base64')}`;
  let count = 0;
  const end = performance.now() + WINDOW_S * 1000;
  const started = performance.now();
  const c0 = await cpuNow(issuerPid);
  await Promise.all(
    names.map(async (a) => {
      for (let j = 0; performance.now() < end; j++) {
        const body = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: chains.get(a) as string,
          scope: SCOPES[j % SCOPES.length] as string,
          audience: `https://s${j % TOKENS}.example.org`,
        });
        const res = await fetch(`${url}/token`, { method: 'POST', body, headers: { authorization: auth } });
        const json = (await res.json()) as { refresh_token?: string };
        if (!res.ok || !json.refresh_token) throw new Error(`raw refresh failed: ${res.status}`);
        chains.set(a, json.refresh_token);
        count++;
      }
    }),
  );
  const cpu = cpuPer(c0, await cpuNow(issuerPid), count);
  return { perSecond: count / ((performance.now() - started) / 1000), cpu };
}

/** CPU milliseconds per renewal (or grant): of this process (the daemon, or the raw client) and the issuer's. */
interface Cpu {
  ownMs: number;
  issuerMs: number;
}

async function cpuNow(issuerPid: number): Promise<{ own: number; issuer: number }> {
  const { user, system } = process.cpuUsage();
  // Clock ticks are 1/100 s on Linux (USER_HZ).
  return { own: (user + system) / 1000, issuer: (await usage(issuerPid)).ticks * 10 };
}

function cpuPer(a: { own: number; issuer: number }, b: { own: number; issuer: number }, n: number): Cpu {
  return { ownMs: (b.own - a.own) / Math.max(1, n), issuerMs: (b.issuer - a.issuer) / Math.max(1, n) };
}

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2ln`;
}

/** Resident memory (kB) and CPU ticks (user + system) of a process, from /proc. */
async function usage(pid: number): Promise<{ rssKb: number; ticks: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after "pid (comm)".
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rssKb, ticks };
}

interface Idle {
  rssMb: number;
  cpu: number;
}

/**
 * Spawns `args`, waits for `ready` on stderr, then measures RSS and CPU over IDLE_S seconds; then runs
 * `after` (given what the process printed) while it still runs, so what it does is not in the figures.
 */
async function idle<T>(
  args: string[],
  ready: RegExp | undefined,
  settleMs: number,
  after?: (stderr: string) => Promise<T>,
): Promise<Idle & { after?: T }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    if (ready === undefined) setTimeout(resolve, 500);
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      if (ready?.test(err)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  await sleep(settleMs);
  const pid = child.pid as number;
  const a = await usage(pid);
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  const b = await usage(pid);
  const seconds = (performance.now() - t0) / 1000;
  const extra = after === undefined ? undefined : await after(err);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('close', resolve));
  // Clock ticks are 1/100 s on Linux (USER_HZ).
  return {
    rssMb: b.rssKb / 1024,
    cpu: (b.ticks - a.ticks) / 100 / seconds,
    ...(extra === undefined ? {} : { after: extra }),
  };
}

/** Milliseconds to GET `url` and read the whole body. */
async function timeGet(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok || body.length === 0) throw new Error(`GET ${url}: ${res.status}`);
  return ms;
}

/**
 * /metrics scraped over HTTP from the running daemon, beside /api/status of the same daemon (the same
 * snapshot, JSON.stringify'd and served by the same server), interleaved; medians of SCRAPES, after one
 * of each to warm up.
 */
async function scrape(stderr: string): Promise<{ metricsMs: number; statusMs: number; worstMs: number }> {
  const base = /daemon\.serving url=(http:\/\/\S+?)\/? /.exec(stderr)?.[1];
  if (base === undefined) throw new Error(`the daemon did not say where it serves: ${stderr}`);
  await timeGet(`${base}/metrics`);
  await timeGet(`${base}/api/status`);
  const metrics: number[] = [];
  const status: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    metrics.push(await timeGet(`${base}/metrics`));
    status.push(await timeGet(`${base}/api/status`));
  }
  return { metricsMs: median(metrics), statusMs: median(status), worstMs: Math.max(...metrics) };
}

async function steadyState(dir: string): Promise<{
  daemon: Idle & { after?: Awaited<ReturnType<typeof scrape>> };
  node: Idle;
}> {
  const perAccount = Math.ceil(IDLE_TOKENS / IDLE_ACCOUNTS);
  const names = Array.from({ length: IDLE_ACCOUNTS }, (_, i) => `i${i}`);
  await mkdir(join(dir, 'idle', 't'), { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  await mapLimit(names, 32, async (a) => {
    await writeFile(join(dir, 'idle', `${a}.pw`), 'an idle password\n', { mode: 0o600 });
    for (let j = 0; j < perAccount; j++) {
      await writeFile(
        join(dir, 'idle', 't', `${a}.${j}`),
        jwt({
          iat: now,
          exp: now + 3600,
          aud: `https://s${j}.example.org`,
          scope: SCOPES[j % SCOPES.length],
        }),
      );
    }
  });
  // As short as config.ini allows: 10,000 sections come close to its 1 MiB limit.
  const base = join(dir, 'idle');
  let text = `[DEFAULT]\nstate_dir = ${base}/state\n\n`;
  for (const a of names) {
    text += `[account ${a}]\npassword_file = ${base}/${a}.pw\nissuer = https://issuer.example\n\n`;
    for (let j = 0; j < perAccount; j++)
      text += `[token ${a}.${j}]\naccount = ${a}\ntoken_path = ${base}/t/${a}.${j}\n\n`;
  }
  const file = join(dir, 'idle.ini');
  await writeFile(file, text);
  const daemon = await idle(
    [CLI, 'daemon', '--config', file, '--listen', '127.0.0.1:0'],
    // Started: config.ini loaded and every token scheduled (it serves from before the load).
    /daemon\.started /,
    // Its steady state: after the full collection it makes 10 s after loading config.ini.
    12_000,
    scrape,
  );
  const node = await idle(['-e', 'setInterval(() => {}, 1 << 30)'], undefined, 1000);
  return { daemon, node };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-daemon-'));
  const rows: Row[] = [];
  try {
    if (ONLY !== 'idle') rows.push(...(await rateRows(dir)));
    if (ONLY !== 'rate') rows.push(...(await idleRows(dir)));
    printRows(rows);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rateRows(dir: string): Promise<Row[]> {
  await mkdir(join(dir, 'tokens'));
  const issuer = await startIssuerProcess(dir, { bench: CLIENT_SECRET }, [
    '--auto-approve',
    'bench',
    '--token-ttl',
    String(TTL),
  ]);
  try {
    const ours = Array.from({ length: ACCOUNTS }, (_, i) => `d${i}`);
    const rawNames = Array.from({ length: ACCOUNTS }, (_, i) => `r${i}`);
    console.log(`setting up ${2 * ACCOUNTS} accounts at ${issuer.url} ...`);
    await makeAccounts(issuer.url, dir, [...ours, ...rawNames]);
    // One after the other in the same run, so the same moment of the machine is behind both.
    const pid = issuer.child.pid as number;
    const daemonRate = await sustained(issuer.url, dir, ours, pid);
    const rawRate = await raw(issuer.url, dir, rawNames, pid);
    const n = ACCOUNTS * TOKENS;
    const cpu = (c: Cpu) => `CPU/renewal ${c.ownMs.toFixed(1)} ms + issuer ${c.issuerMs.toFixed(1)} ms`;
    return [
      {
        bench: `daemon, ${n} tokens (${ACCOUNTS}x${TOKENS}) living ${TTL}s, renewals/s over ${WINDOW_S}s${daemonRate.failed ? ` (${daemonRate.failed} failed)` : ''}`,
        tokenwarden: `${daemonRate.perSecond.toFixed(1)}/s`,
        anchorName: `raw refresh grants, ${ACCOUNTS} chains, over ${WINDOW_S}s`,
        anchor: `${rawRate.perSecond.toFixed(1)}/s`,
        ratio: `${(rawRate.perSecond / daemonRate.perSecond).toFixed(2)}x slower than the issuer's own rate`,
      },
      {
        bench: '  the same, CPU per renewal: the daemon + the issuer',
        tokenwarden: cpu(daemonRate.cpu),
        anchorName: '  raw: the client + the issuer, per grant',
        anchor: cpu(rawRate.cpu),
        ratio: '',
      },
    ];
  } finally {
    issuer.stop();
  }
}

async function idleRows(dir: string): Promise<Row[]> {
  const steady = await steadyState(dir);
  const scraped = steady.daemon.after;
  return [
    {
      bench: `daemon idle, ${IDLE_TOKENS} fresh tokens / ${IDLE_ACCOUNTS} accounts: RSS`,
      tokenwarden: `${steady.daemon.rssMb.toFixed(1)} MB`,
      anchorName: 'idle node process: RSS',
      anchor: `${steady.node.rssMb.toFixed(1)} MB`,
      ratio: `${(steady.daemon.rssMb / steady.node.rssMb).toFixed(1)}x`,
    },
    {
      bench: `daemon idle, ${IDLE_TOKENS} fresh tokens: CPU over ${IDLE_S}s`,
      tokenwarden: `${(steady.daemon.cpu * 100).toFixed(2)}% of a core`,
      anchorName: 'idle node process: CPU',
      anchor: `${(steady.node.cpu * 100).toFixed(2)}% of a core`,
      ratio: `+${((steady.daemon.cpu - steady.node.cpu) * 100).toFixed(2)} points`,
    },
    ...(scraped === undefined
      ? []
      : [
          {
            bench: `GET /metrics of that daemon over HTTP, median of ${SCRAPES} (worst ${ms(scraped.worstMs)})`,
            tokenwarden: ms(scraped.metricsMs),
            anchorName: 'GET /api/status (JSON.stringify of the same snapshot), same daemon',
            anchor: ms(scraped.statusMs),
            ratio: `${(scraped.metricsMs / scraped.statusMs).toFixed(2)}x`,
          },
        ]),
  ];
}

await main();
