/**
 * Renewal benchmarks (issue 2): cold `renew` of ACCOUNTS x TOKENS tokens against the bundled test issuer,
 * beside (a) osg-token-renewer's method, one `oidc-token --aud --scope` per token through oidc-agent
 * (sampled, then scaled to the same token count), and (b) the issuer's own capacity: the same number of
 * refresh grants sent straight to the token endpoint with the same concurrency; `renew` when every token
 * is fresh; one forced refresh with rotation and the durable store write, beside `oidc-token -f`.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, refreshTokenGrant } from '../src/oidc/index.js';
import { Secret } from '../src/secret.js';
import { createAccount } from '../src/setup/index.js';
import { type CredentialStore, createFileStore } from '../src/store/index.js';
import { CLI, median, ms, printRows, type Row, run, startIssuerProcess, startOidcAgent } from './lib.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 50);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 20);
const OIDC_SAMPLES = Number(process.env.BENCH_OIDC_SAMPLES ?? 30);
const SCOPES = ['storage.read:/', 'storage.create:/', 'compute.read', 'compute.modify', 'storage.modify:/'];
const CLIENT_SECRET = `bench-${Math.random().toString(36).slice(2)}-secret`;

function storeFor(dir: string, password: Secret): CredentialStore {
  return createFileStore({
    credentialFile: (a) => join(dir, 'state', 'accounts', `${a}.cred`),
    lockFile: (a) => join(dir, 'state', 'locks', `${a}.lock`),
    password: async () => password,
  });
}

async function makeAccounts(url: string, dir: string, names: string[]): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const password = `pw-${name}-${Math.random().toString(36).slice(2)}`;
      await writeFile(join(dir, `${name}.pw`), `${password}\n`, { mode: 0o600 });
      const store = storeFor(dir, new Secret(password));
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
    }),
  );
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
async function rawRefreshes(url: string, dir: string, names: string[]): Promise<number> {
  const tokens = new Map<string, string>();
  for (const a of names) {
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
    const raw = Array.from({ length: ACCOUNTS }, (_, i) => `r${i}`);
    const n = ACCOUNTS * TOKENS;
    console.log(`setting up ${2 * ACCOUNTS} accounts (device flow, auto-approved) at ${issuer.url} ...`);
    await makeAccounts(issuer.url, dir, [...ours, ...raw]);
    const cfg = join(dir, 'config.ini');
    await writeFile(cfg, config(issuer.url, dir, ours));

    const cold = await run(process.execPath, [CLI, 'renew', '--config', cfg, '--parallel', String(ACCOUNTS)]);
    if (cold.code !== 0 || !cold.stdout.includes(`${n} renewed`))
      throw new Error(`cold renew: ${cold.stdout}${cold.stderr}`);
    const rawMs = await rawRefreshes(issuer.url, dir, raw);
    const fresh: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await run(process.execPath, [CLI, 'renew', '--config', cfg]);
      if (!r.stdout.includes(`${n} still fresh`)) throw new Error(`fresh renew: ${r.stdout}${r.stderr}`);
      fresh.push(r.ms);
    }
    const nodeStart: number[] = [];
    for (let i = 0; i < 5; i++) nodeStart.push((await run(process.execPath, ['-e', '0'])).ms);
    const forced = await forcedRefresh(issuer.url, dir, 'a0');
    const agent = await oidcAgent(issuer.url, dir);
    const osgMs = agent.perCall * n;
    const rows: Row[] = [
      {
        bench: `cold renew, ${n} tokens (${ACCOUNTS}x${TOKENS})`,
        tokenwarden: ms(cold.ms),
        anchorName: `oidc-token --aud --scope per token (${OIDC_SAMPLES} sampled, x${n})`,
        anchor: ms(osgMs),
        ratio: `${(osgMs / cold.ms).toFixed(1)}x faster`,
      },
      {
        bench: `cold renew, ${n} tokens`,
        tokenwarden: ms(cold.ms),
        anchorName: `raw refresh grants, ${ACCOUNTS} chains in parallel`,
        anchor: ms(rawMs),
        ratio: `${(cold.ms / rawMs).toFixed(2)}x the issuer's own time`,
      },
      {
        bench: `renew, all ${n} fresh (median of 5)`,
        tokenwarden: ms(median(fresh)),
        anchorName: 'node -e 0 (median of 5)',
        anchor: ms(median(nodeStart)),
        ratio: `${(median(fresh) / median(nodeStart)).toFixed(1)}x node start-up`,
      },
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

await main();
