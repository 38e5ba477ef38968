import type { AccountConfig, RenewerConfig } from '../config/index.js';
import { readFileIfExists } from '../files/index.js';
import { credentialFileIdentity, passwordFileIdentity, verdictHolds } from '../renewal/health.js';
// Not the renewal index, which also loads the OIDC client: status never talks to the issuer.
import { minLifetimeWarning } from '../renewal/renew.js';
import { type AccountStatusFile, isEntryOf, readAccountStatusFile } from '../renewal/status.js';
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
  warning: string | null;
}

/** States that make `status` exit 1. */
const BAD_STATES = new Set(['failing', 'needs-login', 'missing', 'broken']);

export const command: Command = {
  name: 'status',
  summary: 'Show every [token]: its file, time left, last renewal, last error and state.',
  usage: 'status [--config PATH] [--json]',
  details: `States: ok (valid for more than min_lifetime), renewing (due at the next run), failing (the
last attempt failed, or the account has no credential or one that does not decrypt), needs-login (the
issuer refused the refresh token: run setup again), missing (no valid token file), broken (its [token]
section or its [account] section in config.ini is wrong; the error says where).
Only what runs of this config.ini recorded is shown: a state directory shared with another config
does not lend it that config's errors. A failure the latest run found gone is cleared.
A token whose min_lifetime is at least the lifetime of the token on disk (so renew renews it on every
run) gets a warning naming both numbers.
What its exit status says: 0 every token ok or renewing; 1 some token failing, needs-login, missing or broken (or a
section that breaks no token); 2 bad command line; 3 the config file cannot be read or parsed at all;
70 internal error.`,
  options: { ...CONFIG_OPTION, ...JSON_OPTION },
  async run(args, io) {
    const config = await loadConfig(args, io, { collect: true });
    const now = nowSeconds();
    const rows: Row[] = [];
    const files = new Map<string, Promise<AccountStatusFile>>();
    const accountErrors = new Map<string, Promise<AccountState | undefined>>();
    for (const t of config.tokens) {
      if (!files.has(t.account)) files.set(t.account, readAccountStatusFile(config.stateDir, t.account));
      const file = (await files.get(t.account)) as AccountStatusFile;
      const recorded = file.tokens[t.name];
      const status = recorded !== undefined && isEntryOf(recorded, config.file) ? recorded : undefined;
      if (!accountErrors.has(t.account)) {
        accountErrors.set(t.account, accountState(config.accounts.get(t.account), file));
      }
      const accountProblem = await accountErrors.get(t.account);
      let left: number | null = null;
      let warning: string | null = null;
      try {
        const text = await readFileIfExists(t.tokenPath, { maxBytes: 64 * 1024 });
        const claims = text ? decodeToken(text).claims : undefined;
        left = typeof claims?.exp === 'number' ? claims.exp - now : null;
        warning = (claims && minLifetimeWarning(t, claims)) ?? null;
      } catch {
        left = null;
      }
      let state: string = status?.state ?? 'renewing';
      if (left === null) state = status?.state === 'needs-login' ? 'needs-login' : 'missing';
      else if (status?.state !== 'failing' && status?.state !== 'needs-login') {
        state = left > t.minLifetime ? 'ok' : 'renewing';
      }
      let lastError = status?.state === 'ok' ? null : (status?.lastError ?? null);
      if (accountProblem !== undefined && (state === 'ok' || state === 'renewing')) {
        // The token is still good, but its account will not renew it.
        state = accountProblem.state;
        lastError = accountProblem.error;
      }
      rows.push({
        token: t.name,
        account: t.account,
        path: t.tokenPath,
        state,
        expires_in: left,
        last_renewal: status?.lastRenewal ?? null,
        last_error: lastError,
        warning,
      });
    }
    for (const b of config.brokenTokens) {
      rows.push({
        token: b.name,
        account: b.account ?? '',
        path: b.tokenPath ?? '',
        state: 'broken',
        expires_in: null,
        last_renewal: null,
        last_error: b.error.message,
        warning: null,
      });
    }
    const order = new Map([...config.tokens, ...config.brokenTokens].map((t) => [t.name, t.line] as const));
    rows.sort((a, b) => (order.get(a.token) ?? 0) - (order.get(b.token) ?? 0));
    const others = orphanProblems(config);
    const bad = rows.some((r) => BAD_STATES.has(r.state)) || others.length > 0;
    const text = [table(rows), ...others.map((m) => `problem: ${m}`)].join('\n');
    return {
      exitCode: bad ? 1 : 0,
      json: { config: config.file, tokens: rows, problems: others },
      text,
    };
  },
};

interface AccountState {
  state: 'failing' | 'needs-login';
  error: string;
}

/**
 * What the last decryption found about the account's credential, while it still holds (neither the
 * credential file nor the password file changed since); a missing credential is seen at once.
 */
async function accountState(
  account: AccountConfig | undefined,
  file: AccountStatusFile,
): Promise<AccountState | undefined> {
  if (account?.kind !== 'refresh') return undefined;
  const credentialIdentity = await credentialFileIdentity(account.credentialFile);
  if (credentialIdentity === undefined) {
    return { state: 'failing', error: `no credential for [account ${account.name}] yet` };
  }
  const cached = file.credentials?.[account.credentialFile];
  const passwordIdentity = await passwordFileIdentity(account.passwordFile);
  if (!verdictHolds(cached, account, credentialIdentity, passwordIdentity)) return undefined;
  if (cached.verdict === 'ok') return undefined;
  return {
    state: cached.verdict === 'needs-login' ? 'needs-login' : 'failing',
    error: cached.message ?? cached.verdict,
  };
}

/** Problems in config.ini that break no token (they still need fixing). */
function orphanProblems(config: RenewerConfig): string[] {
  const tokenErrors = new Set(config.brokenTokens.map((b) => b.error));
  return config.problems.filter((p) => !tokenErrors.has(p.error)).map((p) => p.error.message);
}

function table(rows: Row[]): string {
  const head = ['TOKEN', 'ACCOUNT', 'STATE', 'EXPIRES IN', 'LAST RENEWAL', 'PATH', 'LAST ERROR'];
  const body = rows.map((r) => [
    r.token,
    r.account || '-',
    r.state,
    r.expires_in === null ? '-' : formatDuration(r.expires_in),
    r.last_renewal ?? '-',
    r.path || '-',
    r.last_error ?? (r.warning === null ? '' : `warning: ${r.warning}`),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...body.map(fmt)].join('\n');
}
