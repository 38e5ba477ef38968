// Local minting: in-process tokens/s on one core (Node runs this loop on one thread), beside the
// signing limit of the same machine (`openssl speed`, one core) and beside scitokens-create, one process
// per token (what a script gets from scitokens-cpp's tool). Also jose's async SignJWT, the library
// path mintToken does not take (see src/signing/mint.ts).

import { sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { generateKeyFiles } from '../src/issuer/index.js';
import { loadSigningKey, type MintRequest, mintToken, type SigningKey } from '../src/signing/index.js';
import { median, printRows, run } from './lib.js';

const SECONDS = Number(process.env.BENCH_MINT_SECONDS ?? 9);
const ROUNDS = 3;
const CREATE_SAMPLES = Number(process.env.BENCH_MINT_CREATE ?? 30);
const ISSUER = 'https://issuer.test.local';

function request(): MintRequest {
  return {
    issuer: ISSUER,
    subject: 'alice',
    scope: 'read:/user/alice write:/user/alice',
    audience: ['https://storage.example.org'],
    lifetimeSeconds: 1200,
    version: 'scitoken:2.0',
    nowSeconds: Math.floor(Date.now() / 1000),
  };
}

/**
 * Calls per CPU-second of `f`, run for `ms` milliseconds of wall time on this thread in batches of 200:
 * the process's user + system CPU time, not the wall time, so that on a shared machine the figure is
 * what one core does while it runs this, as `openssl speed` reports its own (it divides by its CPU
 * time too). The wall-clock rate is kept beside it.
 */
function rateOf(f: () => unknown, ms: number): { cpu: number; wall: number } {
  let n = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++) f();
    n += 200;
  }
  const used = process.cpuUsage(cpu0);
  return { cpu: n / ((used.user + used.system) / 1e6), wall: n / ((performance.now() - start) / 1000) };
}

/**
 * mintToken, node:crypto's bare sign() of the same bytes (the in-process floor: what one signature
 * costs through Node), and `openssl speed` (OpenSSL's own limit), interleaved round by round so that
 * the load of a shared machine falls on all three alike; medians of ROUNDS.
 */
async function interleaved(key: SigningKey, openssl: 'ecdsap256' | 'rsa2048') {
  const req = request();
  const bytes = Buffer.from(mintToken(key, req).split('.').slice(0, 2).join('.'));
  const signOnly =
    key.alg === 'ES256'
      ? () => sign('sha256', bytes, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : () => sign('sha256', bytes, key.privateKey);
  const mint: number[] = [];
  const wall: number[] = [];
  const bare: number[] = [];
  const ssl: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const m = rateOf(() => mintToken(key, req), (SECONDS * 1000) / ROUNDS);
    mint.push(m.cpu);
    wall.push(m.wall);
    bare.push(rateOf(signOnly, (SECONDS * 1000) / ROUNDS).cpu);
    ssl.push(await opensslSigns(openssl, Math.max(1, Math.round(SECONDS / ROUNDS))));
  }
  return { mint: median(mint), bare: median(bare), openssl: median(ssl), runs: mint, wall: median(wall) };
}

async function joseRate(key: SigningKey): Promise<number> {
  const req = request();
  let n = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < 1000) {
    await new SignJWT({ scope: req.scope, ver: req.version })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(req.issuer)
      .setSubject(req.subject)
      .setAudience([...req.audience])
      .setIssuedAt(req.nowSeconds)
      .setNotBefore(req.nowSeconds)
      .setExpirationTime(req.nowSeconds + req.lifetimeSeconds)
      .setJti(crypto.randomUUID())
      .sign(key.privateKey);
    n++;
  }
  // Per CPU-second of this process (WebCrypto signs on libuv's threads, which count here too).
  const used = process.cpuUsage(cpu0);
  return n / ((used.user + used.system) / 1e6);
}

/** `openssl speed -seconds N ALG`: signatures per second on one core. */
async function opensslSigns(alg: 'ecdsap256' | 'rsa2048', seconds: number): Promise<number> {
  const out = await run('openssl', ['speed', '-seconds', String(seconds), alg]);
  const line = out.stdout
    .split('\n')
    .find((l) => (alg === 'ecdsap256' ? /ecdsa \(nistp256\)/ : /^rsa\s+2048 bits/).test(l));
  const numbers = (line ?? '')
    .trim()
    .split(/\s+/)
    .filter((x) => /^\d+(\.\d+)?$/.test(x))
    .map(Number);
  // Columns: [bits,] sign s, verify s, sign/s, verify/s: the sign/s is the second to last.
  const signs = numbers[numbers.length - 2];
  if (signs === undefined) throw new Error(`cannot read openssl speed ${alg}: ${out.stdout}${out.stderr}`);
  return signs;
}

async function scitokensCreateRate(privateKey: string, publicKey: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < CREATE_SAMPLES; i++) {
    const r = await run('scitokens-create', [
      '--cred',
      publicKey,
      '--key',
      privateKey,
      '--keyid',
      'local',
      '--issuer',
      ISSUER,
      '--profile',
      'scitokens2',
      '--claim',
      'sub=alice',
      '--claim',
      'scope=read:/user/alice write:/user/alice',
      '--claim',
      'aud=https://storage.example.org',
    ]);
    if (r.code !== 0) throw new Error(`scitokens-create failed: ${r.stderr}`);
  }
  return CREATE_SAMPLES / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;

const dir = await mkdtemp(join(tmpdir(), 'tw-bench-mint-'));
try {
  await generateKeyFiles({
    privateKeyPath: join(dir, 'es.pem'),
    publicKeyPath: join(dir, 'es.pub'),
    alg: 'ES256',
    kid: 'local',
  });
  await generateKeyFiles({
    privateKeyPath: join(dir, 'rs.pem'),
    publicKeyPath: join(dir, 'rs.pub'),
    alg: 'RS256',
    kid: 'rsa',
  });
  const es = await loadSigningKey(join(dir, 'es.pem'), { kid: 'local' });
  const rs = await loadSigningKey(join(dir, 'rs.pem'), { kid: 'rsa' });
  // Warm up the JIT and OpenSSL's tables before anything is timed.
  for (let i = 0; i < 2000; i++) mintToken(es, request());
  const esRun = await interleaved(es, 'ecdsap256');
  const rsRun = await interleaved(rs, 'rsa2048');
  const jose = await joseRate(es);
  const create = await scitokensCreateRate(join(dir, 'es.pem'), join(dir, 'es.pub'));
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  printRows([
    {
      bench: 'mintToken ES256, 1 core',
      tokenwarden: fmt(esRun.mint),
      anchorName: 'openssl speed ecdsap256 (signs/s)',
      anchor: fmt(esRun.openssl),
      ratio: `${pct(esRun.mint, esRun.openssl)} of OpenSSL's limit`,
    },
    {
      bench: 'mintToken ES256, 1 core',
      tokenwarden: fmt(esRun.mint),
      anchorName: 'node:crypto sign() alone, same bytes',
      anchor: fmt(esRun.bare),
      ratio: `${pct(esRun.mint, esRun.bare)} of Node's limit`,
    },
    {
      bench: 'mintToken ES256, 1 core',
      tokenwarden: fmt(esRun.mint),
      anchorName: `scitokens-create, 1 process/token (N=${CREATE_SAMPLES}, wall)`,
      anchor: fmt(create),
      ratio: `${(esRun.mint / create).toFixed(0)}x`,
    },
    {
      bench: 'mintToken ES256, 1 core',
      tokenwarden: fmt(esRun.mint),
      anchorName: 'jose SignJWT (async), same claims',
      anchor: fmt(jose),
      ratio: `${(esRun.mint / jose).toFixed(1)}x`,
    },
    {
      bench: 'mintToken RS256 2048, 1 core',
      tokenwarden: fmt(rsRun.mint),
      anchorName: 'openssl speed rsa2048 (signs/s)',
      anchor: fmt(rsRun.openssl),
      ratio: `${pct(rsRun.mint, rsRun.openssl)} of OpenSSL's limit`,
    },
  ]);
  console.log(
    `\nES256 mint rounds (per CPU-second): ${esRun.runs.map(fmt).join(', ')}; RS256: ${rsRun.runs.map(fmt).join(', ')}`,
  );
  console.log(`wall-clock rate on this shared machine: ES256 ${fmt(esRun.wall)}, RS256 ${fmt(rsRun.wall)}`);
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (${cpus().length} cores)`,
  );
  console.log(`target: at least 10,000 ES256 tokens/s per core: ${esRun.mint >= 10_000 ? 'met' : 'NOT met'}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
