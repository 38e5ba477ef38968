import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real XRootD server (5.5, `libXrdAccSciTokens.so`) serving a directory over HTTP with token
 * authorization, for one batch of requests. XRootD binds every address and refuses to run as root, so
 * it runs inside a private network namespace (`unshare -n`, nothing but its own loopback) as the
 * `xrootd` user (`-R xrootd`), and the requests (curl) run inside the same namespace. Its key cache is
 * seeded offline with `scitokens-verify --cred` (no https issuer needed), as docs/issuer.md describes
 * for a site trying its issuer before publishing it. Needs root (unshare) and Debian's
 * xrootd-server, xrootd-scitokens-plugins, scitokens-cpp and curl: a missing one fails loudly.
 */

export interface XrootdRequest {
  /** Names the request in the result. */
  name: string;
  /** Path under the export, e.g. `/store/data/file.txt`. */
  path: string;
  /** The bearer token, sent in the Authorization header (from a file, never curl's argv); none when absent. */
  token?: string;
}

export interface XrootdAnswer {
  status: number;
  body: string;
}

export interface XrootdRun {
  /** The issuer whose tokens the storage accepts (`[Issuer]` of the plugin's configuration). */
  issuer: string;
  /** The accepted audiences (`[Global] audience`). */
  audiences: readonly string[];
  /** Token paths are under this prefix of the export (`base_path`). */
  basePath: string;
  /** The issuer's public key (PEM) and kid, seeded into the server's key cache. */
  publicKeyFile: string;
  kid: string;
  /** Any valid token of that issuer and key: scitokens-verify needs one to store the key. */
  seedToken: string;
  /** Files to serve: path under the export root (`store/data/file.txt`) to content. */
  files: Record<string, string>;
  requests: readonly XrootdRequest[];
}

const PORT = 8094;

export async function runXrootd(run: XrootdRun): Promise<Record<string, XrootdAnswer>> {
  if (process.getuid?.() !== 0)
    throw new Error('the XRootD harness needs root (unshare -n, xrootd -R xrootd)');
  // Its own directory, which the xrootd user can traverse (a test's temp dir is 0700), removed after.
  const d = await mkdtemp(join(tmpdir(), 'tw-xrootd-'));
  try {
    return await serve(d, run);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
}

async function serve(d: string, run: XrootdRun): Promise<Record<string, XrootdAnswer>> {
  for (const sub of ['data', 'admin', 'run', 'cache', 'log', 'req', 'out'])
    await mkdir(join(d, sub), { recursive: true });
  await chmod(d, 0o755);
  for (const [path, content] of Object.entries(run.files)) {
    const full = join(d, 'data', path);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content);
  }
  await writeFile(join(d, 'authdb'), '');
  await writeFile(
    join(d, 'scitokens.cfg'),
    `[Global]\naudience = ${run.audiences.join(', ')}\n\n[Issuer Test]\nissuer = ${run.issuer}\nbase_path = ${run.basePath}\n`,
  );
  await writeFile(
    join(d, 'xrootd.cfg'),
    [
      'all.role server',
      'all.export /store',
      `oss.localroot ${d}/data`,
      `all.adminpath ${d}/admin`,
      `all.pidpath ${d}/run`,
      `xrd.protocol XrdHttp:${PORT} libXrdHttp.so`,
      'http.header2cgi Authorization authz',
      'ofs.authorize 1',
      `ofs.authlib ++ libXrdAccSciTokens.so config=${d}/scitokens.cfg`,
      `acc.authdb ${d}/authdb`,
      '',
    ].join('\n'),
  );
  // Seed the key cache the server will read (as root, then handed to the xrootd user).
  const seeded = await exec(
    'scitokens-verify',
    ['--cred', run.publicKeyFile, '--issuer', run.issuer, '--keyid', run.kid, run.seedToken],
    {
      XDG_CACHE_HOME: join(d, 'cache'),
    },
  );
  if (seeded.code !== 0) throw new Error(`scitokens-verify --cred failed: ${seeded.stderr}`);
  const xrootdUid = Number((await exec('id', ['-u', 'xrootd'])).stdout.trim());
  const xrootdGid = Number((await exec('id', ['-g', 'xrootd'])).stdout.trim());
  if (!Number.isInteger(xrootdUid)) throw new Error('no xrootd user: install xrootd-server');
  const owned = await exec('chown', [
    '-R',
    `${xrootdUid}:${xrootdGid}`,
    ...['data', 'admin', 'run', 'cache', 'log'].map((s) => join(d, s)),
  ]);
  if (owned.code !== 0) throw new Error(owned.stderr);
  await chown(join(d, 'authdb'), xrootdUid, xrootdGid);
  const lines: string[] = [];
  for (const [i, r] of run.requests.entries()) {
    if (!/^[\w.-]+$/.test(r.name) || !/^\/[\w./-]*$/.test(r.path))
      throw new Error(`bad request ${r.name} ${r.path}`);
    const header = join(d, 'req', `${i}.hdr`);
    await writeFile(
      header,
      r.token === undefined ? 'X-No-Token: 1\n' : `Authorization: Bearer ${r.token}\n`,
      { mode: 0o600 },
    );
    lines.push(
      `printf '%s ' ${r.name}; curl -s -m 10 -o ${d}/out/${r.name} -w '%{http_code}\\n' -H @${header} http://127.0.0.1:${PORT}${r.path}`,
    );
  }
  const script = [
    'set -u',
    'ip link set lo up',
    `XDG_CACHE_HOME=${d}/cache xrootd -R xrootd -c ${d}/xrootd.cfg -l ${d}/log/xrootd.log &`,
    'P=$!',
    `for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:${PORT}/ && break; sleep 0.05; done`,
    ...lines,
    'kill $P; wait $P 2>/dev/null; exit 0',
  ].join('\n');
  const result = await exec('unshare', ['-n', 'sh', '-c', script], {}, 60_000);
  if (result.code !== 0) throw new Error(`xrootd run failed (${result.code}): ${result.stderr}`);
  const answers: Record<string, XrootdAnswer> = {};
  for (const line of result.stdout.trim().split('\n')) {
    const [name, status] = line.split(' ');
    if (name === undefined || status === undefined) continue;
    const body = await readFile(join(d, 'out', name), 'utf8').catch(() => '');
    answers[name] = { status: Number(status), body };
  }
  for (const r of run.requests)
    if (answers[r.name] === undefined)
      throw new Error(`no answer for ${r.name}: ${result.stdout} ${result.stderr}`);
  return answers;
}

/** Runs a program to completion. A missing program rejects (ENOENT): the peer is not installed. */
export function exec(
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${cmd} could not be run (${(err as NodeJS.ErrnoException).code}): is it installed? see scripts/setup.sh`,
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
