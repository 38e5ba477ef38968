import { readFileIfExists } from '../files/index.js';
import { readAccountStatus, type TokenStatus } from '../renewal/index.js';
import { decodeToken, formatDuration, nowSeconds } from '../tokens/index.js';
import type { Command } from './command.js';
import { CONFIG_OPTION, JSON_OPTION, loadConfig } from './shared.js';

interface Row {
  token: string;
  account: string;
  path: string;
  state: string;
  expires_in: number | null;
  last_renewal: string | null;
  last_error: string | null;
}

export const command: Command = {
  name: 'status',
  summary: 'Show every [token]: its file, time left, last renewal, last error and state.',
  usage: 'status [--config PATH] [--json]',
  details: `States: ok (valid for more than min_lifetime), renewing (due at the next run), failing (the
last attempt failed), needs-login (the issuer refused the refresh token: run setup again), missing.`,
  options: { ...CONFIG_OPTION, ...JSON_OPTION },
  async run(args, io) {
    const config = await loadConfig(args, io);
    const now = nowSeconds();
    const rows: Row[] = [];
    const byAccount = new Map<string, Promise<Record<string, TokenStatus>>>();
    for (const t of config.tokens) {
      if (!byAccount.has(t.account)) byAccount.set(t.account, readAccountStatus(config.stateDir, t.account));
      const status = (await byAccount.get(t.account))?.[t.name];
      let left: number | null = null;
      try {
        const text = await readFileIfExists(t.tokenPath, { maxBytes: 64 * 1024 });
        const exp = text ? decodeToken(text).claims.exp : undefined;
        left = typeof exp === 'number' ? exp - now : null;
      } catch {
        left = null;
      }
      let state: string = status?.state ?? 'renewing';
      if (left === null) state = status?.state === 'needs-login' ? 'needs-login' : 'missing';
      else if (status?.state !== 'failing' && status?.state !== 'needs-login') {
        state = left > t.minLifetime ? 'ok' : 'renewing';
      }
      rows.push({
        token: t.name,
        account: t.account,
        path: t.tokenPath,
        state,
        expires_in: left,
        last_renewal: status?.lastRenewal ?? null,
        last_error: status?.state === 'ok' ? null : (status?.lastError ?? null),
      });
    }
    const bad = rows.some((r) => r.state === 'failing' || r.state === 'needs-login' || r.state === 'missing');
    return { exitCode: bad ? 1 : 0, json: { config: config.file, tokens: rows }, text: table(rows) };
  },
};

function table(rows: Row[]): string {
  const head = ['TOKEN', 'ACCOUNT', 'STATE', 'EXPIRES IN', 'LAST RENEWAL', 'PATH', 'LAST ERROR'];
  const body = rows.map((r) => [
    r.token,
    r.account,
    r.state,
    r.expires_in === null ? '-' : formatDuration(r.expires_in),
    r.last_renewal ?? '-',
    r.path,
    r.last_error ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...body.map(fmt)].join('\n');
}
