import { realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RenewerConfig } from '../config/index.js';
import { writeFileAtomic } from '../files/index.js';
import { boolOpt, type Command, stringOpt } from './command.js';
import { CONFIG_OPTION, loadConfig } from './shared.js';

export const command: Command = {
  name: 'units',
  summary: 'Print (or install) a systemd service + timer for `renew`, and the equivalent cron line.',
  usage: 'units [--config PATH] [--user NAME] [--install] [--dir DIR]',
  details: `The timer runs renew every 10 minutes with RandomizedDelaySec=3min, like osg-token-renewer's.
The service is a hardened oneshot with TimeoutStartSec; it may write only the token directories and the
state directory of the config. --install writes the units into --dir (default /etc/systemd/system); then
run: systemctl daemon-reload && systemctl enable --now tokenwarden-renew.timer`,
  options: {
    ...CONFIG_OPTION,
    user: { type: 'string', valueName: 'NAME', description: 'run as this user (default: the current user)' },
    install: { type: 'boolean', description: 'write the unit files instead of printing them' },
    dir: {
      type: 'string',
      valueName: 'DIR',
      description: 'where --install writes (default /etc/systemd/system)',
    },
  },
  async run(args, io) {
    const config = await loadConfig(args, io);
    const user = stringOpt(args, 'user') ?? io.env.USER ?? (io.uid === 0 ? 'root' : String(io.uid));
    const units = renderUnits(config, user, executable());
    if (boolOpt(args, 'install')) {
      const dir = stringOpt(args, 'dir') ?? '/etc/systemd/system';
      await mkdir(dir, { recursive: true });
      for (const [name, text] of Object.entries(units.files)) {
        await writeFileAtomic(join(dir, name), text, { mode: 0o644 });
      }
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

function executable(): string {
  const main = realpathSync(resolve(dirname(fileURLToPath(import.meta.url)), 'main.js'));
  return `${process.execPath} ${main}`;
}

export function renderUnits(
  config: RenewerConfig,
  user: string,
  exe: string,
): { files: Record<string, string>; cron: string } {
  const writable = [...new Set([config.stateDir, ...config.tokens.map((t) => dirname(t.tokenPath))])].sort();
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
ReadWritePaths=${writable.join(' ')}
ProtectHome=read-only
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
