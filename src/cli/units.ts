import { realpathSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ROOT_STATE_DIR, type RenewerConfig } from '../config/index.js';
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
import { CONFIG_OPTION, loadConfig } from './shared.js';

export const command: Command = {
  name: 'units',
  summary:
    'Print (or install) a systemd service + timer for `renew` and the cron line; --agent: a user unit.',
  usage:
    'units [--config PATH] [--user NAME] [--install] [--dir DIR] | units --agent [--install] [--dir DIR]',
  details: `The timer runs renew every 10 minutes with RandomizedDelaySec=3min, like osg-token-renewer's.
The service is a hardened oneshot with TimeoutStartSec; it may write only the token directories and the
state directory of the config. --install writes the units into --dir (default /etc/systemd/system); then
run: systemctl daemon-reload && systemctl enable --now tokenwarden-renew.timer

--agent gives instead a systemd user unit that runs the agent (tokenwarden agent --foreground) with its
socket at $XDG_RUNTIME_DIR/tokenwarden/agent.sock; --install writes it into --dir (default
~/.config/systemd/user). Accounts are loaded with \`tokenwarden add\` after each start.`,
  options: {
    ...CONFIG_OPTION,
    user: { type: 'string', valueName: 'NAME', description: 'run as this user (default: the current user)' },
    agent: { type: 'boolean', description: 'the systemd user unit of the agent instead' },
    install: { type: 'boolean', description: 'write the unit files instead of printing them' },
    dir: {
      type: 'string',
      valueName: 'DIR',
      description: 'where --install writes (default /etc/systemd/system, or ~/.config/systemd/user)',
    },
  },
  async run(args, io) {
    if (boolOpt(args, 'agent')) return agentUnit(args, io);
    const config = await loadConfig(args, io);
    const user = stringOpt(args, 'user') ?? io.env.USER ?? (io.uid === 0 ? 'root' : String(io.uid));
    const units = renderUnits(config, user, executable());
    if (boolOpt(args, 'install')) {
      const dir = stringOpt(args, 'dir') ?? '/etc/systemd/system';
      await installUnits(dir, units.files);
      return {
        text: `wrote ${Object.keys(units.files).join(', ')} into ${dir}\nnext: systemctl daemon-reload && systemctl enable --now tokenwarden-renew.timer`,
        json: { dir, files: Object.keys(units.files) },
      };
    }
    const text = [
      ...Object.entries(units.files).map(([name, body]) => `# ${name}\n${body}`),
      '# or, without systemd, in /etc/cron.d/tokenwarden:',
      units.cron,
    ].join('\n');
    return { text, json: { files: units.files, cron: units.cron } };
  },
};

async function installUnits(dir: string, files: Record<string, string>): Promise<void> {
  await makeDirectories(dir);
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
    const dir = stringOpt(args, 'dir') ?? join(configHome, 'systemd', 'user');
    await installUnits(dir, files);
    return {
      text: `wrote tokenwarden-agent.service into ${dir}\nnext: systemctl --user daemon-reload && systemctl --user enable --now tokenwarden-agent.service\nthen, in your shell profile: ${shell}`,
      json: { dir, files: Object.keys(files) },
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
 * mkdir -p, one level at a time: Node 20's recursive mkdir spins forever on some paths (under /proc),
 * and a clear error naming --dir is better anyway.
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const st = await stat(d).catch(() => undefined);
    if (st?.isDirectory()) break;
    if (st !== undefined || d === dirname(d)) {
      throw new TokenwardenError('USAGE', `--dir ${dir}: ${d} exists and is not a directory`);
    }
    missing.unshift(d);
  }
  for (const d of missing) {
    try {
      await mkdir(d);
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

export function renderUnits(
  config: RenewerConfig,
  user: string,
  exe: string,
): { files: Record<string, string>; cron: string } {
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
  const service = `[Unit]
Description=tokenwarden: renew the bearer tokens of ${config.file}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User=${user}
ExecStart=${exe} renew --config ${config.file}
# A run has its own deadline (renew --timeout, 600 s); this is the outer bound.
TimeoutStartSec=15min
UMask=0077
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
  return { files: { 'tokenwarden-renew.service': service, 'tokenwarden-renew.timer': timer }, cron };
}
