import { realpathSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_ROOT_STATE_DIR,
  DEFAULT_TIMEOUT_SECONDS,
  findConfigPath,
  loadRenewerConfig,
  OSG_CONFIG_PATH,
  type RenewerConfig,
} from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';
import {
  boolOpt,
  type CliIO,
  type Command,
  type CommandResult,
  type ParsedArgs,
  stringOpt,
} from './command.js';
import { groupName, requireServiceUser, type ServiceUser } from './service-user.js';
import { CONFIG_OPTION } from './shared.js';

/** The names, user and config of osg-token-renewer's units, for `units --as osg-token-renewer`. */
export const OSG_UNITS = {
  service: 'osg-token-renewer.service',
  timer: 'osg-token-renewer.timer',
  user: 'osg-token-svc',
  config: OSG_CONFIG_PATH,
} as const;

/** Where systemd's system manager reads units from (systemd.unit(5), "System Unit Search Path"). */
const SYSTEM_UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
];

/** Where packages put units: a unit written there does not override the package's. */
const PACKAGE_UNIT_DIRS = ['/usr/lib/systemd/system', '/lib/systemd/system'];

/** The user manager's unit search path (systemd.unit(5), "User Unit Search Path"). */
function userUnitDirs(env: Record<string, string | undefined>, home: string): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  const dataHome = env.XDG_DATA_HOME || join(home, '.local', 'share');
  return [
    join(configHome, 'systemd', 'user'),
    '/etc/systemd/user',
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'systemd', 'user')] : []),
    '/run/systemd/user',
    join(dataHome, 'systemd', 'user'),
    '/usr/local/lib/systemd/user',
    '/usr/lib/systemd/user',
  ];
}

export const command: Command = {
  name: 'units',
  summary:
    'Print (or install) a systemd service + timer for `renew` and the cron line; --daemon: the daemon service; --agent: a user unit.',
  usage:
    'units [--config PATH] [--user NAME] [--as osg-token-renewer] [--daemon [--listen HOST:PORT]] [--install] [--dir DIR] | units --agent [--install] [--dir DIR]',
  details: `The timer runs renew every 10 minutes with RandomizedDelaySec=3min, like osg-token-renewer's.
The service is a hardened oneshot with TimeoutStartSec; it may write only the token directories and the
state directory of the config (for --user, the one renew finds when run as that user: state_dir of
[DEFAULT], else ~USER/.local/state/tokenwarden; it must exist before the first start, as
\`tokenwarden migrate\` leaves it). --install writes the units into --dir (default /etc/systemd/system),
creating at most that last directory, and warns when systemd does not read units from there; then run:
systemctl daemon-reload && systemctl enable --now tokenwarden-renew.timer

--as osg-token-renewer names the units osg-token-renewer.service and osg-token-renewer.timer, runs them
as User=/Group=${OSG_UNITS.user} (or --user and its primary group) with ${OSG_CONFIG_PATH}
(or --config). Installed in /etc/systemd/system, they override the osg-token-renewer package's units of the same names in
/usr/lib/systemd/system, and the admin's drop-ins in /etc/systemd/system/osg-token-renewer.timer.d/ (and
.service.d/) keep applying; then run: systemctl daemon-reload && systemctl reenable osg-token-renewer.timer
&& systemctl restart osg-token-renewer.timer. To go back, remove the two files and run the same commands.

--daemon gives instead one service, tokenwarden-daemon.service, that runs \`tokenwarden daemon --config
PATH\` (with --listen HOST:PORT when given) under the same sandbox and --user/--as handling: Type=simple
(readiness is the daemon's /readyz; Node cannot send systemd's ready notification without a native
addon), Restart=on-failure, \`systemctl reload\` sends SIGHUP (the config is re-read; a bad one is refused
and the old one kept), and TimeoutStopSec lets a SIGTERM drain finish the refresh in flight and its save.
The daemon does the timer's work: run one or the other.

--agent gives instead a systemd user unit that runs the agent (tokenwarden agent --foreground) with its
socket at $XDG_RUNTIME_DIR/tokenwarden/agent.sock; --install writes it into --dir (default
~/.config/systemd/user). Accounts are loaded with \`tokenwarden add\` after each start.`,
  options: {
    ...CONFIG_OPTION,
    user: { type: 'string', valueName: 'NAME', description: 'run as this user (default: the current user)' },
    as: {
      type: 'string',
      valueName: 'NAME',
      description: `osg-token-renewer: its unit names, User=/Group=${OSG_UNITS.user} and config`,
    },
    daemon: { type: 'boolean', description: 'a service running `tokenwarden daemon` instead of the timer' },
    listen: {
      type: 'string',
      valueName: 'HOST:PORT',
      description: 'with --daemon: where the daemon serves its page and /metrics (default its own)',
    },
    agent: { type: 'boolean', description: 'the systemd user unit of the agent instead' },
    install: { type: 'boolean', description: 'write the unit files instead of printing them' },
    dir: {
      type: 'string',
      valueName: 'DIR',
      description: 'where --install writes (default /etc/systemd/system, or ~/.config/systemd/user)',
    },
  },
  async run(args, io) {
    const daemon = boolOpt(args, 'daemon');
    const listen = stringOpt(args, 'listen');
    if (daemon && boolOpt(args, 'agent')) {
      throw new TokenwardenError('USAGE', '--daemon and --agent: give one of them');
    }
    if (listen !== undefined && !daemon) throw new TokenwardenError('USAGE', '--listen goes with --daemon');
    // It lands in ExecStart=: one word, HOST:PORT (IPv6 in brackets), nothing systemd would split or expand.
    if (listen !== undefined && !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(listen)) {
      throw new TokenwardenError('USAGE', `--listen ${JSON.stringify(listen)}: expected HOST:PORT`, {
        hint: 'for example --listen 127.0.0.1:9464, or --listen [::1]:9464',
      });
    }
    if (boolOpt(args, 'agent')) return agentUnit(args, io);
    const as = stringOpt(args, 'as');
    if (as !== undefined && as !== 'osg-token-renewer') {
      throw new TokenwardenError(
        'USAGE',
        `--as ${JSON.stringify(as)}: the one name known is osg-token-renewer`,
      );
    }
    const osg = as !== undefined;
    const userName = stringOpt(args, 'user') ?? (osg ? OSG_UNITS.user : undefined);
    const { config, account } = await configAs(args, io, userName, osg);
    const user = userName ?? io.env.USER ?? (io.uid === 0 ? 'root' : String(io.uid));
    // osg-token-renewer's unit names its group too (Group=osg-token-svc): the user's primary group.
    const group = osg && account ? await groupName(account.gid) : undefined;
    if (daemon) {
      const timer = osg ? OSG_UNITS.timer : 'tokenwarden-renew.timer';
      const units = renderDaemonUnit(config, user, executable(), {
        ...(group === undefined ? {} : { group }),
        ...(listen === undefined ? {} : { listen }),
      });
      return daemonResult(args, io, units, timer);
    }
    const units = renderUnits(config, user, executable(), osg ? { names: OSG_UNITS, group } : {});
    if (boolOpt(args, 'install')) {
      const { dir, warnings, missing } = await installSystemUnits(args, io, units);
      const [service, timer] = Object.keys(units.files) as [string, string];
      const overrides = warnings.length === 0 && !PACKAGE_UNIT_DIRS.includes(resolve(dir));
      const next = osg
        ? [
            ...(overrides
              ? [
                  `they take precedence over the osg-token-renewer package's units of the same names in /usr/lib/systemd/system; drop-ins in /etc/systemd/system/${timer}.d/ and /etc/systemd/system/${service}.d/ keep applying`,
                ]
              : []),
            `next: systemctl daemon-reload && systemctl reenable ${timer} && systemctl restart ${timer}`,
            `check: systemctl list-timers ${timer}; journalctl -u ${service}`,
            `removing the osg-token-renewer package later disables units of these names: run systemctl enable --now ${timer} after it`,
          ]
        : [
            `next: systemctl daemon-reload && systemctl enable --now ${timer}`,
            ...((await oldTimerInstalled())
              ? [
                  'osg-token-renewer.timer is installed here: stop it, so that one renewer runs: systemctl disable --now osg-token-renewer.timer',
                ]
              : []),
          ];
      return {
        text: [`wrote ${Object.keys(units.files).join(', ')} into ${dir}`, ...next].join('\n'),
        json: { dir, files: Object.keys(units.files), warnings: [...warnings, ...missing], next },
      };
    }
    const text = [
      ...Object.entries(units.files).map(([name, body]) => `# ${name}\n${body}`),
      `# or, without systemd, in /etc/cron.d/${osg ? 'osg-token-renewer' : 'tokenwarden'}:`,
      units.cron,
    ].join('\n');
    return { text, json: { files: units.files, cron: units.cron } };
  },
};

/** Prints or installs the daemon's unit; says to stop the timer, since the daemon does its work. */
async function daemonResult(
  args: ParsedArgs,
  io: CliIO,
  units: { files: Record<string, string>; writable: string[] },
  timer: string,
): Promise<CommandResult> {
  const onlyOne = `the daemon does the timer's work: stop the timer, so that one renewer schedules: systemctl disable --now ${timer}`;
  if (boolOpt(args, 'install')) {
    const { dir, warnings, missing } = await installSystemUnits(args, io, units);
    const next = [
      `next: systemctl daemon-reload && systemctl enable --now ${DAEMON_UNIT}`,
      onlyOne,
      `check: systemctl status ${DAEMON_UNIT}; journalctl -u ${DAEMON_UNIT}; reload the config: systemctl reload ${DAEMON_UNIT}`,
    ];
    return {
      text: [`wrote ${DAEMON_UNIT} into ${dir}`, ...next].join('\n'),
      json: { dir, files: Object.keys(units.files), warnings: [...warnings, ...missing], next },
    };
  }
  const text = [
    ...Object.entries(units.files).map(([name, body]) => `# ${name}\n${body}`),
    `# then: systemctl daemon-reload && systemctl enable --now ${DAEMON_UNIT}`,
    `# ${onlyOne}`,
  ].join('\n');
  return { text, json: { files: units.files, next: onlyOne } };
}

/**
 * The config as renew will see it when the units run it as `userName`: that user's uid, home and the
 * environment systemd gives a service (HOME, nothing of the caller's), so the state directory is theirs.
 */
async function configAs(
  args: ParsedArgs,
  io: CliIO,
  userName: string | undefined,
  osg: boolean,
): Promise<{ config: RenewerConfig; account?: ServiceUser }> {
  const cliPath =
    stringOpt(args, 'config') || (osg ? io.env.OSG_TOKEN_RENEWER_CONFIG_PATH || OSG_UNITS.config : undefined);
  const path = findConfigPath({ cliPath, env: io.env });
  if (userName === undefined) {
    return { config: await loadRenewerConfig({ path, env: io.env, uid: io.uid, home: io.home }) };
  }
  const label = stringOpt(args, 'user') === undefined ? '--as osg-token-renewer: user' : '--user';
  const user = await requireServiceUser(userName, label);
  const env = { HOME: user.home };
  return { config: await loadRenewerConfig({ path, env, uid: user.uid, home: user.home }), account: user };
}

/** Says when systemd will not read units from `dir`: it is not one of its unit search paths. */
async function unitDirWarnings(dir: string, searchPath: string[]): Promise<string[]> {
  const real = async (p: string) => realpath(p).catch(() => resolve(p));
  const target = await real(dir);
  const known = await Promise.all(searchPath.map(real));
  if (known.includes(target)) return [];
  return [
    `systemd does not read units from ${dir} (its unit search path is ${searchPath.join(', ')}): link or copy them there, or they are never started`,
  ];
}

/** ReadWritePaths= of a missing path fails the unit at start: say which ones are missing. */
async function missingPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    if ((await stat(p).catch(() => undefined)) === undefined) {
      out.push(
        `${p} does not exist: the service fails to start until it does (create it as the service's user)`,
      );
    }
  }
  return out;
}

async function oldTimerInstalled(): Promise<boolean> {
  for (const d of SYSTEM_UNIT_DIRS) {
    if ((await stat(join(d, OSG_UNITS.timer)).catch(() => undefined)) !== undefined) return true;
  }
  return false;
}

async function installUnits(dir: string, files: Record<string, string>, onlyLast: boolean): Promise<void> {
  await makeDirectories(dir, onlyLast);
  for (const [name, text] of Object.entries(files)) {
    await writeFileAtomic(join(dir, name), text, { mode: 0o644 });
  }
}

async function agentUnit(args: ParsedArgs, io: CliIO): Promise<CommandResult> {
  const files = { 'tokenwarden-agent.service': renderAgentUnit(executable()) };
  const sock = '$XDG_RUNTIME_DIR/tokenwarden/agent.sock';
  const shell = `export TOKENWARDEN_SOCK="${sock}" OIDC_SOCK="${sock}"`;
  if (boolOpt(args, 'install')) {
    const configHome = io.env.XDG_CONFIG_HOME || join(io.home, '.config');
    const given = stringOpt(args, 'dir');
    const dir = given ?? join(configHome, 'systemd', 'user');
    const warnings = await unitDirWarnings(dir, userUnitDirs(io.env, io.home));
    await installUnits(dir, files, given !== undefined);
    for (const w of warnings) io.err(`tokenwarden: warning: ${w}\n`);
    return {
      text: `wrote tokenwarden-agent.service into ${dir}\nnext: systemctl --user daemon-reload && systemctl --user enable --now tokenwarden-agent.service\nthen, in your shell profile: ${shell}`,
      json: { dir, files: Object.keys(files), warnings },
    };
  }
  const text = [
    '# ~/.config/systemd/user/tokenwarden-agent.service',
    files['tokenwarden-agent.service'],
    '# then: systemctl --user daemon-reload && systemctl --user enable --now tokenwarden-agent.service',
    `# and, in your shell profile: ${shell}`,
  ].join('\n');
  return { text, json: { files, environment: { TOKENWARDEN_SOCK: sock, OIDC_SOCK: sock } } };
}

/**
 * The agent as a systemd user service. Only hardening that works in the user manager without extra
 * privileges is used; MemoryDenyWriteExecute is left out because Node's JIT needs writable code pages.
 */
export function renderAgentUnit(exe: string): string {
  return `[Unit]
Description=tokenwarden agent: access tokens for tokenwarden token and oidc-token

[Service]
Type=simple
ExecStart=${exe} agent --foreground --socket %t/tokenwarden/agent.sock
Restart=on-failure
RestartSec=5s
UMask=0077
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
# Decrypted accounts live in this process's memory only: keep them out of core dumps.
LimitCORE=0

[Install]
WantedBy=default.target
`;
}

/**
 * Makes `dir`: with `onlyLast` (an explicit --dir) only its last component, so that a typo in a parent
 * is an error rather than a new tree; otherwise (the default per-user directory) its missing parents
 * too, one level at a time: Node 20's recursive mkdir spins forever on some paths (under /proc), and a
 * clear error naming --dir is better anyway.
 */
async function makeDirectories(dir: string, onlyLast: boolean): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const st = await stat(d).catch(() => undefined);
    if (st?.isDirectory()) break;
    if (st !== undefined || d === dirname(d)) {
      throw new TokenwardenError('USAGE', `--dir ${dir}: ${d} exists and is not a directory`);
    }
    if (onlyLast && missing.length === 1) {
      throw new TokenwardenError('USAGE', `--dir ${dir}: ${d} does not exist`, {
        hint: 'units creates only the last directory of --dir: create its parent first, or fix the path',
      });
    }
    missing.unshift(d);
  }
  for (const d of missing) {
    try {
      await mkdir(d, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      const reason = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new TokenwardenError('FILE_IO', `--dir ${dir}: cannot create ${d}: ${reason}`);
    }
  }
}

function executable(): string {
  const main = realpathSync(resolve(dirname(fileURLToPath(import.meta.url)), 'main.js'));
  return `${process.execPath} ${main}`;
}

export interface UnitNames {
  service: string;
  timer: string;
}

export function renderUnits(
  config: RenewerConfig,
  user: string,
  exe: string,
  options: { names?: UnitNames; group?: string } = {},
): { files: Record<string, string>; cron: string; writable: string[] } {
  const names = options.names ?? { service: 'tokenwarden-renew.service', timer: 'tokenwarden-renew.timer' };
  const sandbox = serviceSandbox(config);
  const service = `[Unit]
Description=tokenwarden: renew the bearer tokens of ${config.file}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User=${user}
${options.group ? `Group=${options.group}\n` : ''}ExecStart=${exe} renew --config ${config.file}
# A run has its own deadline (renew --timeout, 600 s); this is the outer bound.
TimeoutStartSec=15min
${sandbox.text}`;
  const timer = `[Unit]
Description=tokenwarden: renew bearer tokens every 10 minutes

[Timer]
OnBootSec=1min
OnUnitActiveSec=10min
RandomizedDelaySec=3min
Persistent=true

[Install]
WantedBy=timers.target
`;
  const cron = `*/10 * * * * ${user} ${exe} renew --config ${config.file} >/dev/null`;
  return { files: { [names.service]: service, [names.timer]: timer }, cron, writable: sandbox.writable };
}

/** The daemon's unit name: osg-token-renewer never had a daemon, so `--as` keeps it. */
export const DAEMON_UNIT = 'tokenwarden-daemon.service';

/** Saving a rotated refresh token is retried for about this long when the store fails (renewal/refresh.ts). */
const SAVE_RETRY_SECONDS = 30;

/**
 * The unit of `tokenwarden daemon`: the same sandbox as the renew service (it writes the same token,
 * credential and state directories, and daemon.json in the state directory), restarted on failure,
 * reloaded with SIGHUP.
 *
 * Type=simple, not Type=notify: telling systemd "ready" takes a datagram on $NOTIFY_SOCKET, which Node
 * cannot send without a native addon (its dgram module has no AF_UNIX), and spawning `systemd-notify
 * --ready` instead needs NotifyAccess=all, which lets any process of the unit claim readiness, and is
 * racy (systemd may not attribute a message whose sender already exited). Readiness is the daemon's
 * /readyz instead. TimeoutStopSec covers the drain on SIGTERM: the requests in flight end within their
 * account's timeout, and a rotated refresh token whose save failed is retried for about
 * SAVE_RETRY_SECONDS; a margin on top, so that systemd's SIGKILL never cuts a save short.
 */
export function renderDaemonUnit(
  config: RenewerConfig,
  user: string,
  exe: string,
  options: { group?: string; listen?: string } = {},
): { files: Record<string, string>; writable: string[] } {
  const sandbox = serviceSandbox(config);
  const timeouts = [...config.accounts.values()].map((a) => a.timeoutSeconds);
  const drain = Math.max(DEFAULT_TIMEOUT_SECONDS, ...timeouts) + SAVE_RETRY_SECONDS + 15;
  const listen = options.listen === undefined ? '' : ` --listen ${options.listen}`;
  const service = `[Unit]
Description=tokenwarden daemon: keep the bearer tokens of ${config.file} renewed
Wants=network-online.target
After=network-online.target

[Service]
# simple, not notify: Node cannot send sd_notify without a native addon; readiness is GET /readyz.
Type=simple
User=${user}
${options.group ? `Group=${options.group}\n` : ''}ExecStart=${exe} daemon --config ${config.file}${listen}
# SIGHUP re-reads the config; a bad one is refused and the old one keeps running.
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5s
# SIGTERM drains: the request in flight (the account's timeout) and its save (retried ~${SAVE_RETRY_SECONDS} s) finish.
TimeoutStopSec=${drain}s
${sandbox.text}
[Install]
WantedBy=multi-user.target
`;
  return { files: { [DAEMON_UNIT]: service }, writable: sandbox.writable };
}

/**
 * The sandbox both services share: read-only system and home, writable only where renewing writes.
 * `writable` lists the ReadWritePaths= directories, which must exist before the first start.
 */
function serviceSandbox(config: RenewerConfig): { text: string; writable: string[] } {
  // Everything renew writes: the state directory (locks, status, default credentials), each token's
  // directory, and each credential_file's directory. A credential that could not be written back after
  // a refresh would lose its rotated refresh token, so none may be left read-only.
  const credentialDirs = [...config.accounts.values()].flatMap((a) =>
    a.kind === 'refresh' ? [dirname(a.credentialFile)] : [],
  );
  const all = [
    ...new Set([config.stateDir, ...config.tokens.map((t) => dirname(t.tokenPath)), ...credentialDirs]),
  ];
  // A directory inside another one listed is covered by it (and may not exist yet at the first start).
  const writable = all.filter((d) => !all.some((o) => o !== d && d.startsWith(`${o}/`))).sort();
  // The default root state directory is made by systemd (StateDirectory=) with the right owner, so the
  // unit starts even before the first run created it; ReadWritePaths= of a missing path fails the unit.
  const systemdState = config.stateDir === DEFAULT_ROOT_STATE_DIR;
  const chown = config.tokens.some((t) => t.owner !== undefined || t.group !== undefined);
  const inTmp = writable.some((d) => d === '/tmp' || d.startsWith('/tmp/'));
  const text = `UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${writable.filter((d) => !(systemdState && d === config.stateDir)).join(' ')}
${systemdState ? 'StateDirectory=tokenwarden\nStateDirectoryMode=0700\n' : `# These must exist before the first start: mkdir -p ${writable.join(' ')}\n`}ProtectHome=read-only
${inTmp ? '# PrivateTmp is off: some token files live in /tmp.\n' : 'PrivateTmp=yes\n'}PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=${chown ? 'CAP_CHOWN CAP_FOWNER' : ''}
`;
  return { text, writable: writable.filter((d) => !(systemdState && d === config.stateDir)) };
}

/**
 * Installs system units into --dir (else /etc/systemd/system), warning on stderr where systemd will not
 * read them and about paths the service may write that do not exist yet.
 */
async function installSystemUnits(
  args: ParsedArgs,
  io: CliIO,
  units: { files: Record<string, string>; writable: string[] },
): Promise<{ dir: string; warnings: string[]; missing: string[] }> {
  const given = stringOpt(args, 'dir');
  const dir = given ?? '/etc/systemd/system';
  const warnings = await unitDirWarnings(dir, SYSTEM_UNIT_DIRS);
  await installUnits(dir, units.files, given !== undefined);
  const missing = await missingPaths(units.writable);
  for (const w of [...warnings, ...missing]) io.err(`tokenwarden: warning: ${w}\n`);
  return { dir, warnings, missing };
}
