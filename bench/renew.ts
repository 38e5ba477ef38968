/**
 * Renewal benchmarks (issue 2): cold `renew` of ACCOUNTS x TOKENS tokens against the bundled test issuer,
 * beside (a) osg-token-renewer's method, one `oidc-token --aud --scope` per token through oidc-agent
 * (sampled, then scaled to the same token count), and (b) the issuer's own capacity: the same number of
 * refresh grants sent straight to the token endpoint with the same concurrency; `renew` when every token
 * is fresh; one forced refresh with rotation and the durable store write, beside `oidc-token -f`.
 *
 * BENCH_RENEW=fresh runs only the fresh row, cheaply: no issuer, no oidc-agent. The accounts are sealed
 * records written straight to the store and the token files unsigned JWTs valid for a day, which is all
 * a run with nothing due reads. BENCH_CLI names another build's main.js to measure; BENCH_CLI_BEFORE
 * one more, run in turn with it and `node -e 0`, so before and after come from the same run.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, refreshTokenGrant } from '../src/oidc/index.js';
import { mapLimit } from '../src/renewal/index.js';
import { Secret } from '../src/secret.js';
import { createAccount } from '../src/setup/index.js';
import {
  type CredentialStore,
  createFileStore,
  DEFAULT_KDF_COST,
  GENERATED_PASSWORD_KDF_COST,
  type KdfCost,
} from '../src/store/index.js';
import { CLI, median, ms, printRows, type Row, run, startIssuerProcess, startOidcAgent } from './lib.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 50);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 20);
const OIDC_SAMPLES = Number(process.env.BENCH_OIDC_SAMPLES ?? 30);
const SCOPES = ['storage.read:/', 'storage.create:/', 'compute.read', 'compute.modify', 'storage.modify:/'];
const CLIENT_SECRET = `bench-${Math.random().toString(36).slice(2)}-secret`;
const FRESH_RUNS = Number(process.env.BENCH_FRESH_RUNS ?? 11);
const RENEW_CLI = process.env.BENCH_CLI ?? CLI;
/** Another build's main.js, run in turn with RENEW_CLI and `node -e 0` (a before/after in one run). */
const BEFORE_CLI = process.env.BENCH_CLI_BEFORE;

function storeFor(dir: string, password: Secret, kdf?: KdfCost): CredentialStore {
  return createFileStore({
    credentialFile: (a) => join(dir, 'state', 'accounts', `${a}.cred`),
    lockFile: (a) => join(dir, 'state', 'locks', `${a}.lock`),
    password: async () => password,
    ...(kdf ? { kdf } : {}),
  });
}

/**
 * Accounts as `tokenwarden setup` makes them: `generated` ones get a random 256-bit password file and
 * the KDF cost setup uses for it; the others an admin-chosen password at the default scrypt cost.
 */
async function makeAccounts(url: string, dir: string, names: string[], generated: boolean): Promise<void> {
  await mapLimit(names, 16, async (name) => {
    const password = generated ? randomBytes(32).toString('base64url') : `correct horse ${name} staple`;
    await writeFile(join(dir, `${name}.pw`), `${password}\n`, { mode: 0o600 });
    const store = storeFor(
      dir,
      new Secret(password),
      generated ? GENERATED_PASSWORD_KDF_COST : DEFAULT_KDF_COST,
    );
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

function config(url: string, dir: string, names: string[]): string {
  let text = `[DEFAULT]\nstate_dir = ${dir}/state\n\n`;
  for (const a of names) {
    text += `[account ${a}]\npassword_file = ${dir}/${a}.pw\nissuer = ${url}\n\n`;
    for (let j = 0; j < TOKENS; j++) {
      text += `[token ${a}-t${j}]\naccount = ${a}\ntoken_path = ${dir}/tokens/${a}.t${j}.token\n`;
      text += `audience = https://s${j}.example.org\nscope = ${SCOPES[j % SCOPES.length]}\n\n`;
    }
  }
  return text;
}

/** The issuer's own capacity: raw refresh grants, chains per account in parallel, tokens in sequence. */
const rawChains = new Map<string, string>();

async function rawRefreshes(url: string, dir: string, names: string[]): Promise<number> {
  // Each chain goes on from its last refresh token (kept in memory between calls: the store holds
  // only the first one, and replaying it would trip the issuer's reuse detection).
  const tokens = rawChains;
  for (const a of names) {
    if (tokens.has(a)) continue;
    const password = (await readFile(join(dir, `${a}.pw`), 'utf8')).trim();
    const store = storeFor(dir, new Secret(password));
    tokens.set(a, (await store.load(a))?.refreshToken?.reveal() as string);
    await store.close();
  }
  const auth = `Basic ${Buffer.from(`bench:${CLIENT_SECRET}`).toString('base64')}`;
  const started = performance.now();
  await Promise.all(
    names.map(async (a) => {
      for (let j = 0; j < TOKENS; j++) {
        const body = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: tokens.get(a) as string,
          scope: SCOPES[j % SCOPES.length] as string,
          audience: `https://s${j}.example.org`,
        });
        const res = await fetch(`${url}/token`, { method: 'POST', body, headers: { authorization: auth } });
        const json = (await res.json()) as { refresh_token?: string };
        if (!res.ok || !json.refresh_token) throw new Error(`raw refresh failed: ${res.status}`);
        tokens.set(a, json.refresh_token);
      }
    }),
  );
  return performance.now() - started;
}

async function oidcAgent(url: string, dir: string) {
  const real = await startOidcAgent(url, join(dir, 'oidc-home'), {
    clientId: 'bench',
    clientSecret: CLIENT_SECRET,
    scope: `openid offline_access ${SCOPES.join(' ')}`,
    account: 'benchacct',
  });
  try {
    const calls: number[] = [];
    for (let i = 0; i < OIDC_SAMPLES; i++) {
      const r = await run(
        'oidc-token',
        [`--aud=https://s${i % TOKENS}.example.org`, `--scope=${SCOPES[i % SCOPES.length]}`, 'benchacct'],
        real.env,
      );
      if (r.code !== 0) throw new Error(`oidc-token failed: ${r.stderr}`);
      calls.push(r.ms);
    }
    const forced: number[] = [];
    for (let i = 0; i < 10; i++) forced.push((await run('oidc-token', ['-f', 'benchacct'], real.env)).ms);
    return { perCall: calls.reduce((a, b) => a + b, 0) / calls.length, forcedMedian: median(forced) };
  } finally {
    real.stop();
  }
}

async function forcedRefresh(url: string, dir: string, account: string): Promise<number> {
  const password = (await readFile(join(dir, `${account}.pw`), 'utf8')).trim();
  const store = storeFor(dir, new Secret(password));
  let record = await store.load(account);
  if (!record?.refreshToken) throw new Error('no record');
  const ctx = { timeoutSeconds: 30 };
  const client = await createClient(
    {
      issuer: url,
      clientId: record.clientId,
      clientSecret: record.clientSecret,
      authMethod: 'client_secret_basic',
    },
    ctx,
  );
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const started = performance.now();
    const response = await refreshTokenGrant(
      client,
      record.refreshToken as Secret,
      { scope: ['storage.read:/'] },
      ctx,
    );
    record = { ...record, previousRefreshToken: record.refreshToken, refreshToken: response.refreshToken };
    await store.save(record);
    times.push(performance.now() - started);
  }
  await store.close();
  return median(times.slice(5));
}

/**
 * `renew` with every token fresh beside `node -e 0`, interleaved run by run so that a busy moment of
 * the machine weighs on both sides; medians.
 */
async function freshRenew(cfg: string, n: number): Promise<Row[]> {
  const clis = BEFORE_CLI ? [BEFORE_CLI, RENEW_CLI] : [RENEW_CLI];
  const fresh: number[][] = clis.map(() => []);
  const nodeStart: number[] = [];
  for (let i = 0; i < FRESH_RUNS; i++) {
    for (const [k, cli] of clis.entries()) {
      const r = await run(process.execPath, [cli, 'renew', '--config', cfg]);
      if (!r.stdout.includes(`${n} still fresh`))
        throw new Error(`fresh renew: ${r.stdout}${r.stderr.slice(0, 2000)}`);
      fresh[k]?.push(r.ms);
    }
    nodeStart.push((await run(process.execPath, ['-e', '0'])).ms);
  }
  return clis.map((cli, k) => {
    const times = fresh[k] as number[];
    const which = clis.length > 1 ? (cli === BEFORE_CLI ? ', before' : ', after') : '';
    return {
      bench: `renew, all ${n} fresh (median of ${FRESH_RUNS}${which})`,
      tokenwarden: ms(median(times)),
      anchorName: `node -e 0 (median of ${FRESH_RUNS}, interleaved)`,
      anchor: ms(median(nodeStart)),
      ratio: `${(median(times) / median(nodeStart)).toFixed(2)}x node start-up`,
    };
  });
}

/** An unsigned JWT: `renew` decodes its token files without verifying them, to read `exp`. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** The fresh row alone, with no issuer: records sealed straight into the store, tokens valid for a day. */
async function freshOnly(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-'));
  try {
    await mkdir(join(dir, 'tokens'));
    const names = Array.from({ length: ACCOUNTS }, (_, i) => `a${i}`);
    const now = Math.floor(Date.now() / 1000);
    const issuer = 'https://issuer.example.org';
    await mapLimit(names, 16, async (name) => {
      const password = randomBytes(32).toString('base64url');
      await writeFile(join(dir, `${name}.pw`), `${password}\n`, { mode: 0o600 });
      const store = storeFor(dir, new Secret(password), GENERATED_PASSWORD_KDF_COST);
      const at = new Date().toISOString();
      await store.save({
        version: 1,
        account: name,
        issuer,
        clientId: 'bench',
        refreshToken: new Secret(randomBytes(24).toString('base64url')),
        scope: ['openid', 'offline_access', ...SCOPES],
        createdAt: at,
        updatedAt: at,
      });
      await store.close();
      for (let j = 0; j < TOKENS; j++) {
        const claims = {
          iss: issuer,
          sub: name,
          aud: `https://s${j}.example.org`,
          scope: SCOPES[j % SCOPES.length],
          iat: now,
          exp: now + 86_400,
        };
        await writeFile(join(dir, 'tokens', `${name}.t${j}.token`), `${unsignedJwt(claims)}\n`, {
          mode: 0o600,
        });
      }
    });
    const cfg = join(dir, 'config.ini');
    await writeFile(cfg, config(issuer, dir, names));
    // The first run records each account's decryption verdict; the ones measured reuse it, as a timer's do.
    const n = ACCOUNTS * TOKENS;
    const first = await run(process.execPath, [RENEW_CLI, 'renew', '--config', cfg]);
    if (!first.stdout.includes(`${n} still fresh`))
      throw new Error(`fresh renew: ${first.stdout}${first.stderr.slice(0, 2000)}`);
    printRows(await freshRenew(cfg, n));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-'));
  await mkdir(join(dir, 'tokens'));
  const issuer = await startIssuerProcess(dir, { bench: CLIENT_SECRET }, [
    '--auto-approve',
    'bench',
    '--token-ttl',
    '3600',
  ]);
  try {
    const ours = Array.from({ length: ACCOUNTS }, (_, i) => `a${i}`);
    const human = Array.from({ length: ACCOUNTS }, (_, i) => `h${i}`);
    const raw = Array.from({ length: ACCOUNTS }, (_, i) => `r${i}`);
    const n = ACCOUNTS * TOKENS;
    console.log(`setting up ${3 * ACCOUNTS} accounts (device flow, auto-approved) at ${issuer.url} ...`);
    await makeAccounts(issuer.url, dir, [...ours, ...raw], true);
    await makeAccounts(issuer.url, dir, human, false);
    const cfg = join(dir, 'config.ini');
    await writeFile(cfg, config(issuer.url, dir, ours));
    const humanCfg = join(dir, 'human.ini');
    await writeFile(humanCfg, config(issuer.url, dir, human));

    // The first run is cold (no token files); two forced runs redo the same 1,000 refreshes. Medians of
    // three on both sides, interleaved, so one slow moment of the machine does not decide the ratio.
    const renewAll = async (file: string, extra: string[]) => {
      const r = await run(process.execPath, [
        CLI,
        'renew',
        '--config',
        file,
        '--parallel',
        String(ACCOUNTS),
        ...extra,
      ]);
      if (r.code !== 0 || !r.stdout.includes(`${n} renewed`))
        throw new Error(`renew: ${r.stdout}${r.stderr}`);
      return r.ms;
    };
    const coldRuns: number[] = [];
    const rawRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      coldRuns.push(await renewAll(cfg, i === 0 ? [] : ['--force']));
      rawRuns.push(await rawRefreshes(issuer.url, dir, raw));
    }
    const cold = { ms: median(coldRuns) };
    const rawMs = median(rawRuns);
    const humanMs = await renewAll(humanCfg, []);
    const freshRows = await freshRenew(cfg, n);
    const forced = await forcedRefresh(issuer.url, dir, 'a0');
    const agent = await oidcAgent(issuer.url, dir);
    const osgMs = agent.perCall * n;
    const rows: Row[] = [
      {
        bench: `cold renew, ${n} tokens (${ACCOUNTS}x${TOKENS}), password files as setup makes them`,
        tokenwarden: ms(coldRuns[0] as number),
        anchorName: `oidc-token --aud --scope per token (${OIDC_SAMPLES} sampled, x${n})`,
        anchor: ms(osgMs),
        ratio: `${(osgMs / (coldRuns[0] as number)).toFixed(1)}x faster`,
      },
      {
        bench: `renew ${n} tokens, median of 3 (${coldRuns.map((x) => ms(x)).join(', ')})`,
        tokenwarden: ms(cold.ms),
        anchorName: `raw refresh grants, ${ACCOUNTS} chains, median of 3`,
        anchor: ms(rawMs),
        ratio: `${(cold.ms / rawMs).toFixed(2)}x the issuer's own time`,
      },
      {
        bench: `cold renew, ${n} tokens, admin-chosen passwords (scrypt N=2^15)`,
        tokenwarden: ms(humanMs),
        anchorName: `raw refresh grants, ${ACCOUNTS} chains, median of 3`,
        anchor: ms(rawMs),
        ratio: `${(humanMs / rawMs).toFixed(2)}x the issuer's own time`,
      },
      ...freshRows,
      {
        bench: 'forced refresh + rotation + durable store (median)',
        tokenwarden: ms(forced),
        anchorName: 'oidc-token -f (median of 10)',
        anchor: ms(agent.forcedMedian),
        ratio: `${(agent.forcedMedian / forced).toFixed(1)}x faster`,
      },
    ];
    printRows(rows);
  } finally {
    issuer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_RENEW === 'fresh') await freshOnly();
else await main();
