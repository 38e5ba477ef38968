import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { decodeToken } from '../../src/tokens/index.js';
import { HAVE_OIDC_AGENT } from '../agent/oidc-agent/oidc-tools.js';
import { CLI, type CliRun, findLeaks, runCli, transcript } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/*
 * An osg-token-renewer site, built for real as its package and setup script leave it: the system user
 * osg-token-svc (home /var/spool/osg-token-svc) and its group, /etc/osg/token-renewer/config.ini 0640
 * root:osg-token-svc, password files in /etc/osg/tokens (root:osg-token-svc 0770), and oidc-agent
 * accounts made by the real oidc-gen running as osg-token-svc against the test issuer. Everything here
 * is the machine's own: the test refuses to run where any of it exists already, and removes what it made.
 */
const SVC = 'osg-token-svc';
const HOME = '/var/spool/osg-token-svc';
const OSG = '/etc/osg';
const CONFIG = '/etc/osg/token-renewer/config.ini';
const TOKENS = '/etc/osg/tokens';
const CLIENT_ID = 'osg-site-client';
const CLIENT_SECRET = 'osg-site-client-secret-9d8c7b6a';
const ROBOT_SECRET = 'osg-robot-secret-1a2b3c4d5e';
const SCOPE = 'openid offline_access storage.read:/ storage.create:/ compute.read compute.modify';
// Account names no other test uses: while this test runs, the fallback config is this one.
const CMS = 'twmig-cms';
const ATLAS = 'twmig-atlas';
const ROBOT = 'twmig-robot';
const PASSWORDS: Record<string, string> = {
  [CMS]: 'cms-pw-5e4d3c2b1a',
  [ATLAS]: 'atlas-pw-0f9e8d7c6b',
};
const EXPECTED: Record<string, { aud: string[]; scope: string[] }> = {
  [`${CMS}.ce`]: { aud: ['https://ce.example.org:9619'], scope: ['compute.modify', 'compute.read'] },
  [`${CMS}.storage`]: { aud: ['https://storage.example.org'], scope: ['storage.create:/', 'storage.read:/'] },
  [`${ATLAS}.ce`]: { aud: ['https://ce1.example.org', 'https://ce2.example.org'], scope: ['compute.read'] },
  [`${ROBOT}.ce`]: { aud: ['https://robot.example.org'], scope: ['compute.read'] },
};
const credentialFile = (account: string) =>
  join(HOME, '.local', 'state', 'tokenwarden', 'accounts', `${account}.cred`);

interface Made {
  group: boolean;
  user: boolean;
  osg: boolean;
  home: boolean;
}

function sh(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** A command run as osg-token-svc, the way systemd's User= or an admin's runuser runs it. */
function runAsService(
  argv: string[],
  env: Record<string, string> = {},
  onOutput?: (chunk: string) => void,
  user = SVC,
): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn('runuser', ['-u', user, '--', ...argv], {
    // runuser sets HOME, USER, LOGNAME and SHELL; nothing of the test's own environment leaks in.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    onOutput?.(d.toString());
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    onOutput?.(d.toString());
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      transcript.push(stdout, stderr);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

const tokenwardenAsService = (args: string[]) => runAsService([process.execPath, CLI, ...args]).done;

describe('migrate osg-token-renewer on a site built as its package and setup script leave it', () => {
  const made: Made = { group: false, user: false, osg: false, home: false };
  let issuer: TestIssuer | undefined;
  let agent: { child: ChildProcess; done: Promise<CliRun> } | undefined;
  let noConfigRun: CliRun;
  let uid = -1;
  let gid = -1;

  /** Makes oidc-agent account NAME the way osg-token-renewer-setup does: oidc-gen, as osg-token-svc. */
  async function oidcGen(name: string): Promise<void> {
    const sock = join(HOME, 'oidc-agent.sock');
    const approvals: Promise<void>[] = [];
    let seen = '';
    const gen = runAsService(
      [
        'oidc-gen',
        `--iss=${issuer?.url}`,
        '--flow=device',
        `--client-id=${CLIENT_ID}`,
        `--client-secret=${CLIENT_SECRET}`,
        `--scope=${SCOPE}`,
        '--pw-env',
        '--confirm-default',
        '--prompt=none',
        '--no-url-call',
        name,
      ],
      { OIDC_SOCK: sock, OIDC_ENCRYPTION_PW: PASSWORDS[name] as string },
      (chunk) => {
        seen += chunk;
        const m = /enter the code: (\S+)/.exec(seen);
        if (m?.[1] && issuer) {
          seen = '';
          approvals.push(issuer.approveDeviceCode(m[1], `robot-${name}`));
        }
      },
    );
    const run = await gen.done;
    await Promise.all(approvals);
    assert.equal(run.code, 0, `oidc-gen ${name}: ${run.stdout}${run.stderr}`);
  }

  before(async () => {
    // A missing peer or a machine that has the real thing fails loudly; never a skip.
    assert.ok(HAVE_OIDC_AGENT, 'oidc-agent-cli is not installed: run scripts/setup.sh');
    assert.ok(!existsSync(OSG), `${OSG} exists: this test builds its own and will not touch a real one`);
    assert.ok(!existsSync('/etc/tokenwarden'), '/etc/tokenwarden exists: renew would read it instead');
    assert.notEqual((await sh('getent', ['passwd', SVC])).code, 0, `user ${SVC} exists already`);
    assert.notEqual((await sh('getent', ['group', SVC])).code, 0, `group ${SVC} exists already`);
    assert.ok(!existsSync(HOME), `${HOME} exists already`);

    // With neither default config present, the error names both places.
    noConfigRun = await runCli(['status'], {
      env: { OSG_TOKEN_RENEWER_CONFIG_PATH: undefined, TOKENWARDEN_CONFIG: undefined },
    });

    // The package's %pre and %files.
    assert.equal((await sh('groupadd', ['-r', SVC])).code, 0);
    made.group = true;
    const add = await sh('useradd', ['-r', '-g', SVC, '-d', HOME, '-s', '/usr/sbin/nologin', SVC]);
    assert.equal(add.code, 0, add.out);
    made.user = true;
    const ids = (await sh('getent', ['passwd', SVC])).out.split(':');
    uid = Number(ids[2]);
    gid = Number(ids[3]);
    await mkdir(HOME, { mode: 0o700 });
    made.home = true;
    await chown(HOME, uid, gid);
    await mkdir(OSG, { mode: 0o755 });
    made.osg = true;
    await mkdir(dirname(CONFIG), { mode: 0o750 });
    await chown(dirname(CONFIG), 0, gid);
    await mkdir(TOKENS, { mode: 0o770 });
    await chmod(TOKENS, 0o770);
    await chown(TOKENS, 0, gid);

    issuer = await startTestIssuer({ accessTokenTtl: 3600 });
    await issuer.addClient({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPE,
    });
    await issuer.addClient({
      client_id: ROBOT,
      client_secret: ROBOT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'compute.read',
    });
    // Password files, created as root as the osg-token-renewer documentation says, readable by the service.
    for (const [name, pw] of Object.entries(PASSWORDS)) {
      const file = join(TOKENS, `${name}.pw`);
      await writeFile(file, `${pw}\n`, { mode: 0o640 });
      await chown(file, 0, gid);
    }
    const token = (account: string, name: string, fields: string) =>
      `[token ${account}.${name}]\naccount = ${account}\ntoken_path = ${TOKENS}/${account}.${name}.token\n${fields}\n`;
    await writeFile(
      CONFIG,
      `[account ${CMS}]
password_file = ${TOKENS}/${CMS}.pw

[account ${ATLAS}]
password_file = ${TOKENS}/${ATLAS}.pw

[account ${ROBOT}]
token_request_url = ${issuer.url}/token
client_id = ${ROBOT}
client_secret = ${ROBOT_SECRET}

${token(CMS, 'ce', 'audience = https://ce.example.org:9619\nscope = compute.read compute.modify\nmin_lifetime = 1200')}
${token(CMS, 'storage', 'audience = https://storage.example.org\nscope = storage.read:/ storage.create:/')}
${token(ATLAS, 'ce', 'audience = https://ce1.example.org https://ce2.example.org\nscope = compute.read')}
${token(ROBOT, 'ce', 'audience = https://robot.example.org\nscope = compute.read')}
`,
      { mode: 0o640 },
    );
    await chown(CONFIG, 0, gid);

    // The setup script's `eval $(oidc-agent)` as the service user; one account is made, the other not yet.
    const sock = join(HOME, 'oidc-agent.sock');
    agent = runAsService(['oidc-agent', '-d', '--quiet', '-a', sock]);
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(sock), 'oidc-agent (as osg-token-svc) made no socket');
    await oidcGen(CMS);
  });

  after(async () => {
    const failures: string[] = [];
    // runuser passes SIGTERM on to oidc-agent and waits for it.
    if (agent && agent.child.exitCode === null && agent.child.pid !== undefined) {
      process.kill(agent.child.pid, 'SIGTERM');
      await agent.done;
    }
    const secrets = [
      CLIENT_SECRET,
      ROBOT_SECRET,
      ...Object.values(PASSWORDS),
      ...(issuer?.issuedSecrets() ?? []),
    ];
    if (existsSync(TOKENS)) {
      for (const f of await readdir(TOKENS)) {
        if (f.endsWith('.token')) secrets.push((await readFile(join(TOKENS, f), 'utf8')).trim());
      }
    }
    const leaks = findLeaks(secrets);
    await issuer?.close();
    if (made.osg) await rm(OSG, { recursive: true, force: true });
    if (made.home) await rm(HOME, { recursive: true, force: true });
    if (made.user) {
      const del = await sh('userdel', [SVC]);
      if (del.code !== 0) failures.push(`userdel ${SVC}: ${del.out}`);
    }
    if (made.group && (await sh('getent', ['group', SVC])).code === 0) {
      const del = await sh('groupdel', [SVC]);
      if (del.code !== 0) failures.push(`groupdel ${SVC}: ${del.out}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(leaks, [], 'a secret appeared in CLI output');
  });

  it('with no config anywhere, the error names both default paths and how to name another', () => {
    assert.equal(noConfigRun.code, 3, noConfigRun.stderr);
    assert.match(
      noConfigRun.stderr,
      /no config file: neither \/etc\/tokenwarden\/config\.ini nor \/etc\/osg\/token-renewer\/config\.ini exists/,
    );
    assert.match(noConfigRun.stderr, /--config PATH or \$OSG_TOKEN_RENEWER_CONFIG_PATH/);
  });

  it('before migrating, renew as osg-token-svc reads the osg config and says how to import each account', async () => {
    const run = await tokenwardenAsService(['renew']);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, new RegExp(`no credential for \\[account ${CMS}\\] yet`));
    // oidc-agent has CMS for this user: import it; ATLAS has no oidc-agent account: log in.
    assert.match(run.stderr, /import it with, as root: tokenwarden migrate osg-token-renewer/);
    assert.match(run.stderr, new RegExp(`run: tokenwarden setup ${ATLAS} --config ${CONFIG}`));
    // Nothing invented: no credential record (the accounts directory may hold the credential's lock).
    for (const account of [CMS, ATLAS]) assert.ok(!existsSync(credentialFile(account)), account);
  });

  it('migrate imports what oidc-agent has, reports what it lacks, and writes as osg-token-svc', async () => {
    const run = await runCli(['migrate', 'osg-token-renewer']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`\\[account ${CMS}\\] imported ${HOME}/\\.(config/)?oidc-agent/${CMS} `),
    );
    assert.match(
      run.stdout,
      new RegExp(`\\[account ${ATLAS}\\] no oidc-agent account file ${ATLAS} in ${HOME}/`),
    );
    assert.match(
      run.stdout,
      new RegExp(`runuser -u ${SVC} -- tokenwarden setup ${ATLAS} --config ${CONFIG}`),
    );
    assert.match(run.stdout, new RegExp(`\\[account ${ROBOT}\\] client credentials: nothing to import`));
    assert.match(run.stdout, /tokenwarden units --as osg-token-renewer --install/);
    assert.match(run.stdout, /systemctl disable --now osg-token-renewer\.timer/);
    // Owned by the service user, 0600 in 0700 directories, all the way from its home.
    const cred = await lstat(credentialFile(CMS));
    assert.equal(cred.uid, uid);
    assert.equal(cred.gid, gid);
    assert.equal(cred.mode & 0o777, 0o600);
    for (let d = dirname(credentialFile(CMS)); d !== HOME; d = dirname(d)) {
      const st = await lstat(d);
      assert.equal(st.uid, uid, d);
      assert.equal(st.mode & 0o777, 0o700, d);
    }
    assert.ok(!existsSync(credentialFile(ATLAS)), 'nothing invented for an account oidc-agent lacks');
    const config = await lstat(CONFIG);
    assert.equal(config.mode & 0o777, 0o640, 'config.ini untouched');
  });

  it('a wrong password_file is reported as such; --dry-run writes nothing; a second run is idempotent', async () => {
    await oidcGen(ATLAS);
    const pwFile = join(TOKENS, `${ATLAS}.pw`);
    await writeFile(pwFile, 'not-the-password\n');
    const wrong = await runCli(['migrate', 'osg-token-renewer']);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(
      wrong.stdout,
      new RegExp(`\\[account ${ATLAS}\\] password_file ${pwFile} does not open .*: wrong password`),
    );
    assert.match(
      wrong.stdout,
      new RegExp(`\\[account ${CMS}\\] already imported \\(${credentialFile(CMS)}\\)`),
    );
    await writeFile(pwFile, `${PASSWORDS[ATLAS]}\n`);

    const dry = await runCli(['migrate', 'osg-token-renewer', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout) as {
      accounts: { account: string; status: string }[];
      state_dir: string;
    };
    assert.deepEqual(
      report.accounts.map((a) => [a.account, a.status]),
      [
        [CMS, 'already-imported'],
        [ATLAS, 'would-import'],
        [ROBOT, 'client-credentials'],
      ],
    );
    assert.equal(report.state_dir, join(HOME, '.local', 'state', 'tokenwarden'));
    assert.ok(!existsSync(credentialFile(ATLAS)), '--dry-run wrote nothing');

    const before = await readFile(credentialFile(CMS));
    const first = await runCli(['migrate', 'osg-token-renewer']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`\\[account ${ATLAS}\\] imported `));
    const again = await runCli(['migrate', 'osg-token-renewer']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`\\[account ${CMS}\\] already imported`));
    assert.match(again.stdout, new RegExp(`\\[account ${ATLAS}\\] already imported`));
    assert.deepEqual(
      await readFile(credentialFile(CMS)),
      before,
      'an existing credential is never rewritten',
    );
  });

  it('renew as osg-token-svc, with no options, renews every token with the asked audience and scope', async () => {
    const run = await tokenwardenAsService(['renew', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { renewed: number; fresh: number; failed: number };
    // The client-credentials token was renewed already by the run before the migration.
    assert.deepEqual([summary.renewed, summary.fresh, summary.failed], [3, 1, 0]);
    for (const [name, want] of Object.entries(EXPECTED)) {
      const file = join(TOKENS, `${name}.token`);
      const token = decodeToken(await readFile(file, 'utf8'));
      assert.deepEqual(token.audience.sort(), want.aud, `aud of ${name}`);
      assert.deepEqual(token.scope.sort(), want.scope, `scope of ${name}`);
      assert.equal(token.claims.iss, issuer?.url);
      assert.equal((await lstat(file)).uid, uid, `${name} written by ${SVC}`);
    }
    // A migrate after renew rotated the refresh token leaves the newer credential alone.
    const rotated = await readFile(credentialFile(CMS));
    const again = await runCli(['migrate', 'osg-token-renewer']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readFile(credentialFile(CMS)), rotated);
    const second = await tokenwardenAsService(['renew', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const counts = JSON.parse(second.stdout) as { renewed: number; fresh: number };
    assert.deepEqual([counts.renewed, counts.fresh], [0, 4], 'one-hour tokens stay fresh');
  });

  it('migrate says what would stop renew as the user: an unreadable config, a token directory it cannot write', async () => {
    const roTokens = join(OSG, 'root-only-tokens');
    await mkdir(roTokens, { mode: 0o755 });
    const body = `[account ${CMS}]\npassword_file = ${TOKENS}/${CMS}.pw\n\n[token ro]\naccount = ${CMS}\ntoken_path = ${roTokens}/ro.token\n`;
    const readable = join(dirname(CONFIG), 'ro.ini');
    await writeFile(readable, body, { mode: 0o640 });
    await chown(readable, 0, gid);
    const dir = await runCli(['migrate', 'osg-token-renewer', '--config', readable, '--dry-run']);
    assert.equal(dir.code, 0, dir.stderr);
    assert.match(
      dir.stderr,
      new RegExp(
        `warning: ${SVC} cannot write ${roTokens}, so renew cannot renew \\[token ro\\]: give the directory to ${SVC}`,
      ),
    );
    assert.match(
      dir.stdout,
      new RegExp(`runuser -u ${SVC} -- tokenwarden renew --config ${readable} --verbose`),
    );
    const secret = join(dirname(CONFIG), 'root-only.ini');
    await writeFile(secret, body, { mode: 0o600 });
    const unreadable = await runCli(['migrate', 'osg-token-renewer', '--config', secret, '--dry-run']);
    assert.equal(unreadable.code, 1, unreadable.stderr);
    assert.match(
      unreadable.stdout,
      new RegExp(`problem: ${SVC} cannot read ${secret}: renew as ${SVC} would fail`),
    );
  });

  it('migrate refuses to run as another user, and a command line without what to migrate from', async () => {
    const asNobody = await runAsService(
      [process.execPath, CLI, 'migrate', 'osg-token-renewer'],
      {},
      undefined,
      'nobody',
    ).done;
    assert.equal(asNobody.code, 2, asNobody.stderr);
    assert.match(asNobody.stderr, new RegExp(`migrate must run as root \\(or as ${SVC}\\)`));
    const bare = await runCli(['migrate']);
    assert.equal(bare.code, 2, bare.stderr);
    assert.match(bare.stderr, /migrate needs what to migrate from: osg-token-renewer/);
    const noUser = await runCli(['migrate', 'osg-token-renewer', '--user', 'tw-no-such-user-y']);
    assert.equal(noUser.code, 2, noUser.stderr);
    assert.match(noUser.stderr, /--user tw-no-such-user-y: no such user/);
  });

  it('units --as osg-token-renewer: the old names, User=/Group=osg-token-svc, its state dir writable; drop-ins apply', async () => {
    const { dir, cleanup } = await tempDir('tw-osg-units-');
    try {
      const units = join(dir, 'system');
      // An admin's drop-in for the old timer, next to where the units go (systemd reads NAME.d/ there).
      await mkdir(join(units, 'osg-token-renewer.timer.d'), { recursive: true });
      await writeFile(
        join(units, 'osg-token-renewer.timer.d', 'site.conf'),
        '[Timer]\nRandomizedDelaySec=bogus\n',
      );
      const run = await runCli(['units', '--as', 'osg-token-renewer', '--install', '--dir', units]);
      assert.equal(run.code, 0, run.stderr);
      const service = await readFile(join(units, 'osg-token-renewer.service'), 'utf8');
      const timer = await readFile(join(units, 'osg-token-renewer.timer'), 'utf8');
      assert.match(service, new RegExp(`\\nUser=${SVC}\\nGroup=${SVC}\\n`));
      assert.match(service, new RegExp(`ExecStart=.* renew --config ${CONFIG}\\n`));
      const rw = /ReadWritePaths=(.*)/.exec(service)?.[1]?.split(' ') ?? [];
      assert.deepEqual(rw.sort(), [TOKENS, join(HOME, '.local', 'state', 'tokenwarden')].sort());
      assert.doesNotMatch(
        service,
        /StateDirectory=/,
        "the service user's state is in its home, not /var/lib",
      );
      assert.match(timer, /OnUnitActiveSec=10min\nRandomizedDelaySec=3min/);
      // Precedence over the package's units holds only in a directory systemd reads: not claimed here.
      assert.doesNotMatch(run.stdout, /take precedence/);
      assert.match(run.stdout, /systemctl daemon-reload && systemctl reenable osg-token-renewer\.timer/);
      assert.match(run.stdout, /removing the osg-token-renewer package later disables units of these names/);
      assert.match(run.stderr, new RegExp(`warning: systemd does not read units from ${units} `));
      const verify = await sh('systemd-analyze', [
        'verify',
        join(units, 'osg-token-renewer.service'),
        join(units, 'osg-token-renewer.timer'),
      ]);
      assert.equal(verify.code, 0, verify.out);
      // The admin's drop-in is read for our timer: systemd complains about its bogus value, by file name.
      assert.match(verify.out, /osg-token-renewer\.timer\.d\/site\.conf:2: Failed to parse sec value/);
    } finally {
      await cleanup();
    }
  });
});
