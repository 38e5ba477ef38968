import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startTestIssuer } from '../testing/index.js';
import { formatDuration } from '../tokens/index.js';
import type { StatusSnapshot } from '../web/status-model.js';
import { boolOpt, type CliIO, type Command, stringOpt } from './command.js';
import { main } from './program.js';
import { runSetup } from './setup.js';

export const command: Command = {
  name: 'demo',
  summary: 'Run tokenwarden end to end against the bundled test issuer on 127.0.0.1.',
  usage: 'demo [--dir DIR] [--keep]',
  details: `Starts the bundled test OpenID provider on 127.0.0.1, sets up an account through a real device
flow (approved automatically), writes a config.ini with three tokens of different audiences and scopes
plus a client-credentials robot, renews them, and shows status and inspect; then starts the agent and
gets a token from it twice (the second from its cache), and with oidc-token where it is installed;
runs the daemon for a moment; last, runs the HTCondor credmon on a credential directory laid out as the
CredD leaves it, whose local issuer mints a SciToken for a user. Nothing leaves this machine.`,
  options: {
    dir: {
      type: 'string',
      valueName: 'DIR',
      description: 'work in DIR (default: a new temporary directory)',
    },
    keep: { type: 'boolean', description: 'keep the directory afterwards' },
  },
  async run(args, io) {
    const dir = stringOpt(args, 'dir') ?? (await mkdtemp(join(tmpdir(), 'tokenwarden-demo-')));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const keep = boolOpt(args, 'keep') || stringOpt(args, 'dir') !== undefined;
    // One-hour tokens, like WLCG IAM's default, so the second run finds them all fresh.
    const issuer = await startTestIssuer({ accessTokenTtl: 3600 });
    const say = (text: string) => io.out(`${text}\n`);
    const step = (text: string) => io.out(`\n== ${text}\n`);
    try {
      say(`tokenwarden demo: test issuer at ${issuer.url}, files in ${dir}`);
      const robotSecret = randomBytes(32).toString('base64url');
      await issuer.addClient({
        client_id: 'demo-robot',
        client_secret: robotSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'compute.read compute.modify storage.read:/',
      });
      await writeFile(join(dir, 'robot.secret'), `${robotSecret}\n`, { mode: 0o600 });
      const config = join(dir, 'config.ini');
      const tokens = join(dir, 'tokens');
      await mkdir(tokens, { recursive: true });
      await writeFile(config, demoConfig(dir, issuer.url), { mode: 0o600 });

      step('setup demo: dynamic client registration + device flow (approved automatically)');
      const setupIO = { ...io, out: () => {} };
      await runSetup(
        {
          values: {
            config,
            issuer: issuer.url,
            // Each demo starts a new issuer: a credential left in a reused --dir is of no use any more.
            force: true,
            scope:
              'openid offline_access wlcg.groups storage.read:/ storage.create:/ compute.read compute.modify',
          },
          positionals: ['demo'],
        },
        setupIO as CliIO,
        {
          onUserCode: async (code) => {
            say(`(the demo approves user code ${code} as user "alice")`);
            await issuer.approveDeviceCode(code, 'alice');
          },
        },
      );

      step(`config.ini (osg-token-renewer format):\n${demoConfig(dir, issuer.url).trimEnd()}`);
      step('tokenwarden renew --verbose');
      let code = await main(['renew', '--config', config, '--verbose'], io);
      step('tokenwarden status');
      await main(['status', '--config', config], io);
      step(`tokenwarden inspect ${join(tokens, 'demo.storage.token')}`);
      await main(['inspect', join(tokens, 'demo.storage.token')], io);
      step('tokenwarden renew again: every token is still fresh, so no request reaches the issuer');
      const before = JSON.stringify(issuer.stats().tokenRequests);
      code ||= await main(['renew', '--config', config], io);
      say(`issuer token requests before: ${before}, after: ${JSON.stringify(issuer.stats().tokenRequests)}`);
      step('tokenwarden agent: oidc-agent-style tokens at the terminal, cached per audience and scope');
      code ||= await agentDemo(dir, config, issuer, io, say);
      step('tokenwarden daemon: each token on its own schedule, with a status page and /metrics');
      code ||= await daemonDemo(config, say);
      step("tokenwarden credmon: HTCondor's credential directory, with a local SciToken issuer");
      code ||= await credmonDemo(dir, io, say);
      step('done');
      say(
        keep
          ? `Files kept in ${dir}. Try: tokenwarden status --config ${config}`
          : 'Run `tokenwarden demo --keep` to keep the files, or `tokenwarden --help`.',
      );
      return { exitCode: code };
    } finally {
      await issuer.close();
      if (!keep) await rm(dir, { recursive: true, force: true });
    }
  },
};

/**
 * Runs `tokenwarden daemon` on the demo's config for a moment (as a child, as systemd would), shows what
 * its HTTP side serves (the snapshot behind the status page, and /metrics), then stops it with SIGTERM.
 */
async function daemonDemo(config: string, say: (text: string) => void): Promise<number> {
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'daemon', '--config', config, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const serving = new Promise<string | undefined>((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /daemon\.serving url=(\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    void exited.then(() => resolve(undefined));
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
  try {
    const url = await serving;
    if (url === undefined) {
      say(`  the daemon did not start:\n${stderr}`);
      return 1;
    }
    say(`$ tokenwarden daemon --config ${config} --listen 127.0.0.1:0`);
    say(`  status page: ${url}   (also ${url}api/status, ${url}metrics, ${url}healthz, ${url}readyz)`);
    const snapshot = (await (await fetch(new URL('api/status', url))).json()) as StatusSnapshot;
    const now = Date.now() / 1000;
    for (const row of snapshot.rows) {
      const left = row.expiresAt === undefined ? '-' : formatDuration(row.expiresAt - now);
      const next =
        row.nextRenewalAt === undefined ? '-' : formatDuration(Math.max(0, row.nextRenewalAt - now));
      say(`  [token ${row.id}] ${row.state}, expires in ${left}, next renewal in ${next}`);
    }
    const metrics = await (await fetch(new URL('metrics', url))).text();
    const states = metrics.split('\n').filter((l) => l.startsWith('tokenwarden_credentials{'));
    say(`  /metrics (${metrics.split('\n').length} lines), for example:\n    ${states.join('\n    ')}`);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    clearTimeout(timer);
    say(
      code === 0 ? '  SIGTERM: the daemon finished its work in flight and stopped' : `  daemon exit ${code}`,
    );
  }
  return 0;
}

/**
 * Runs `tokenwarden credmon` (as condor_master would, configured by a condor_config) on a credential
 * directory where the CredD has stored a local-issuer credential for alice, waits for its first full
 * pass (CREDMON_COMPLETE), shows the SciToken it minted, and stops it with SIGTERM.
 */
async function credmonDemo(dir: string, io: CliIO, say: (text: string) => void): Promise<number> {
  const base = join(dir, 'credmon');
  const credDir = join(base, 'oauth_credentials');
  await rm(base, { recursive: true, force: true });
  await mkdir(join(credDir, 'alice'), { recursive: true, mode: 0o700 });
  // What the CredD leaves for a local-issuer credential: a .top holding the user name.
  await writeFile(join(credDir, 'alice', 'scitokens.top'), 'alice', { mode: 0o600 });
  const condorConfig = join(base, 'condor_config');
  await writeFile(
    condorConfig,
    [
      `SEC_CREDENTIAL_DIRECTORY_OAUTH = ${credDir}`,
      `CREDMON_OAUTH_LOG = ${join(base, 'CredMonOAuthLog')}`,
      'LOCAL_CREDMON_PROVIDER_NAMES = scitokens',
      `LOCAL_CREDMON_PRIVATE_KEY = ${join(base, 'scitokens-private.pem')}`,
      `LOCAL_CREDMON_PUBLIC_KEY = ${join(base, 'scitokens.pem')}`,
      'LOCAL_CREDMON_ISSUER = https://ap.demo.example',
      'LOCAL_CREDMON_TOKEN_AUDIENCE = https://storage.demo.example',
      'LOCAL_CREDMON_AUTHZ_TEMPLATE = read:/user/{username} write:/user/{username}',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  say(`$ CONDOR_CONFIG=${condorConfig} tokenwarden credmon`);
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'credmon'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CONDOR_CONFIG: condorConfig },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  try {
    const complete = join(credDir, 'CREDMON_COMPLETE');
    for (let i = 0; i < 1500 && !done && !existsSync(complete); i++) await sleep(20);
    if (!existsSync(complete)) {
      const log = await readFile(join(base, 'CredMonOAuthLog'), 'utf8').catch(() => '');
      say(`  the credmon did not complete a pass:\n${stderr}${log}`);
      return 1;
    }
    const use = join(credDir, 'alice', 'scitokens.use');
    say(
      `  pid ${await readFile(join(credDir, 'pid'), 'utf8')}, CREDMON_COMPLETE touched after its first pass`,
    );
    say(
      `  ${use} (mode ${((await stat(use)).mode & 0o777).toString(8)}), the key pair made at first start in ${base}:`,
    );
    const { access_token: token } = JSON.parse(await readFile(use, 'utf8')) as { access_token: string };
    await main(['inspect', token], io);
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    say(code === 0 ? '  SIGTERM: the credmon stopped (exit 0)' : `  credmon exit ${code}`);
  }
  return 0;
}

/**
 * Starts the agent in this process on a private socket, loads the demo account, and asks it for the same
 * token twice (the second comes from the cache), then, where Debian's oidc-agent-cli is installed, lets
 * the real oidc-token ask it too. Tokens are not printed: only what they are.
 */
async function agentDemo(
  dir: string,
  config: string,
  issuer: { stats(): { tokenRequests: Record<string, number> } },
  io: CliIO,
  say: (text: string) => void,
): Promise<number> {
  const { createAgent } = await import('../agent/index.js');
  const runDir = join(dir, 'run');
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  const socketPath = join(runDir, 'tokenwarden', 'agent.sock');
  const agent = createAgent({ socketPath });
  await agent.start();
  const refreshes = () => issuer.stats().tokenRequests.refresh_token ?? 0;
  try {
    const env = { ...io.env, TOKENWARDEN_SOCK: socketPath };
    const quiet = (sink: string[]): CliIO => ({
      ...io,
      env,
      out: (t) => sink.push(t),
      err: (t) => io.err(t),
    });
    let code = await main(['add', 'demo', '--config', config], { ...io, env });
    const ask = ['token', 'demo', '--aud', 'https://xrootd.example.org', '--scope', 'storage.read:/'];
    const first: string[] = [];
    const before = refreshes();
    code ||= await main(ask, quiet(first));
    const second: string[] = [];
    code ||= await main(ask, quiet(second));
    say(`$ tokenwarden ${ask.join(' ')}   (twice)`);
    say(
      `  first: a new token (${refreshes() - before} refresh at the issuer); second: ${first.join('') === second.join('') ? 'the same token, from the cache (no request)' : 'a different token'}`,
    );
    const oidcToken = '/usr/bin/oidc-token';
    if (existsSync(oidcToken)) {
      const out = await new Promise<{ status: number; stdout: string }>((resolve) => {
        execFile(
          oidcToken,
          ['--aud=https://xrootd.example.org', '--scope=storage.read:/', 'demo'],
          {
            env: { ...process.env, OIDC_SOCK: socketPath },
            timeout: 10_000,
          },
          (err, stdout) => resolve({ status: err ? 1 : 0, stdout }),
        );
      });
      say(
        `$ OIDC_SOCK=${socketPath} oidc-token --aud=https://xrootd.example.org --scope=storage.read:/ demo`,
      );
      say(
        out.status === 0
          ? `  oidc-agent's own client got ${out.stdout.trim() === first.join('').trim() ? 'the same cached token' : 'a token'} from tokenwarden's agent`
          : '  oidc-token failed against the agent',
      );
      if (out.status !== 0) code ||= 1;
    } else {
      say('(install oidc-agent-cli to see the real oidc-token use this agent too)');
    }
    return code;
  } finally {
    await agent.close();
  }
}

function demoConfig(dir: string, issuer: string): string {
  return `[DEFAULT]
state_dir = ${dir}/state

[account demo]
password_file = ${dir}/demo.pw
issuer = ${issuer}

[account robot]
token_request_url = ${issuer}/token
client_id = demo-robot
client_secret_file = ${dir}/robot.secret

[token storage]
account = demo
token_path = ${dir}/tokens/demo.storage.token
audience = https://storage.example.org
scope = storage.read:/ storage.create:/
min_lifetime = 120

[token compute]
account = demo
token_path = ${dir}/tokens/demo.compute.token
audience = https://ce1.example.org https://ce2.example.org
scope = compute.read compute.modify

[token any]
account = demo
token_path = ${dir}/tokens/demo.any.token
scope = storage.read:/

[token robot]
account = robot
token_path = ${dir}/tokens/robot.token
audience = https://ce1.example.org
scope = compute.read
min_lifetime = 1200
`;
}
