import { realpath } from 'node:fs/promises';
import type { AccountConfig, RenewerConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import {
  type DaemonInfo,
  daemonInfoPath,
  fetchDaemonSnapshot,
  isProcessAlive,
  readDaemonInfo,
} from '../renewal/daemon-info.js';
import { credentialFileIdentity, passwordFileIdentity, verdictHolds } from '../renewal/health.js';
// Not the renewal index, which also loads the OIDC client: status never talks to the issuer.
import { minLifetimeWarning } from '../renewal/renew.js';
import { type AccountStatusFile, isEntryOf, readAccountStatusFile } from '../renewal/status.js';
import { decodeToken, formatDuration, nowSeconds } from '../tokens/index.js';
import type { StatusSnapshot } from '../web/status-model.js';
import type { CliIO, Command } from './command.js';
import { CONFIG_OPTION, JSON_OPTION, loadConfig } from './shared.js';

/** How long `status` waits for a running daemon before it reads the files instead. */
const DAEMON_TIMEOUT_MS = 2_000;

interface Row {
  token: string;
  account: string;
  path: string;
  state: string;
  expires_in: number | null;
  last_renewal: string | null;
  last_error: string | null;
  warning: string | null;
  /** Only from a running daemon: when it renews the token next. */
  next_renewal?: string | null;
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
When a \`tokenwarden daemon\` runs this same config file (its STATE_DIR/daemon.json names a live process
and the same file), status asks it (GET /api/status, 2 s deadline) and says so on stderr; its rows also
carry the next renewal and the daemon's warnings. If the daemon does not answer, status says so and reads
the files as without one. --json has "source": "daemon" or "files".
A token whose min_lifetime is at least the lifetime of the token on disk (so renew renews it on every
run) gets a warning naming both numbers.
What its exit status says: 0 every token ok or renewing; 1 some token failing, needs-login, missing or broken (or a
section that breaks no token); 2 bad command line; 3 the config file cannot be read or parsed at all;
70 internal error.`,
  options: { ...CONFIG_OPTION, ...JSON_OPTION },
  async run(args, io) {
    const config = await loadConfig(args, io, { collect: true });
    const now = nowSeconds();
    const others = orphanProblems(config);
    const fromDaemon = await askDaemon(config, io);
    if (fromDaemon !== undefined) {
      const { info, snapshot } = fromDaemon;
      io.err(`status: from the running daemon (pid ${info.pid}, ${info.url})\n`);
      const rows = daemonRows(config, snapshot, now);
      // What config.ini says now but the daemon does not run (a reload it refused, a section added
      // since): shown as the files show it, so a broken section is never hidden behind a daemon.
      const shown = new Set(rows.map((r) => r.token));
      const names = [...config.tokens, ...config.brokenTokens].map((t) => t.name);
      if (names.some((n) => !shown.has(n))) {
        for (const r of await fileRows(config, now)) if (!shown.has(r.token)) rows.push(r);
      }
      if (snapshot.configError !== undefined) {
        others.push(
          `the daemon refused the last reload of ${config.file} and keeps running the previous one: ${snapshot.configError.message}`,
        );
      }
      const warnings = snapshot.warnings.map((w) => w.message);
      return result(config, now, sortRows(config, rows), others, {
        source: 'daemon',
        daemon: { pid: info.pid, url: info.url },
        warnings,
      });
    }
    return result(config, now, sortRows(config, await fileRows(config, now)), others, { source: 'files' });
  },
};

/** The rows as the files show them: the token files, and what runs of this config recorded. */
async function fileRows(config: RenewerConfig, now: number): Promise<Row[]> {
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
  return rows;
}

/** Rows in config.ini's order; rows it does not name (a daemon running an older version of it) last. */
function sortRows(config: RenewerConfig, rows: Row[]): Row[] {
  const order = new Map([...config.tokens, ...config.brokenTokens].map((t) => [t.name, t.line] as const));
  return rows.sort(
    (a, b) =>
      (order.get(a.token) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.token) ?? Number.MAX_SAFE_INTEGER),
  );
}

function result(
  config: RenewerConfig,
  now: number,
  rows: Row[],
  others: string[],
  from: { source: 'daemon' | 'files'; daemon?: { pid: number; url: string }; warnings?: string[] },
) {
  const warnings = from.warnings ?? [];
  const bad = rows.some((r) => BAD_STATES.has(r.state)) || others.length > 0;
  const text = [
    table(rows, now),
    ...others.map((m) => `problem: ${m}`),
    ...warnings.map((m) => `warning: ${m}`),
  ].join('\n');
  return {
    exitCode: bad ? 1 : 0,
    json: {
      config: config.file,
      source: from.source,
      ...(from.daemon ? { daemon: from.daemon, warnings } : {}),
      tokens: rows,
      problems: others,
    },
    text,
  };
}

/**
 * The snapshot of a daemon running this very config file, or undefined to read the files: no
 * daemon.json, its process gone (a daemon killed without cleaning up: silently), another config, or a
 * daemon that does not answer in time (said on stderr).
 */
async function askDaemon(
  config: RenewerConfig,
  io: CliIO,
): Promise<{ info: DaemonInfo; snapshot: StatusSnapshot } | undefined> {
  let info: DaemonInfo | undefined;
  try {
    info = await readDaemonInfo(config.stateDir);
  } catch (err) {
    if (!(err instanceof TokenwardenError)) throw err;
    io.err(`status: ignoring ${daemonInfoPath(config.stateDir)}: ${err.message}; reading the files\n`);
    return undefined;
  }
  if (info === undefined || !isProcessAlive(info.pid)) return undefined;
  if (!(await sameFile(info.config, config.file))) return undefined;
  try {
    const snapshot = await fetchDaemonSnapshot(info, { timeoutMs: DAEMON_TIMEOUT_MS });
    // The daemon that answered must be the one running this config (a stale daemon.json, a pid reused,
    // another daemon now on that port would show another config's tokens).
    if (snapshot.configFile === undefined || !(await sameFile(snapshot.configFile, config.file))) {
      io.err(`status: the daemon at ${info.url} runs another config; reading the files\n`);
      return undefined;
    }
    return { info, snapshot };
  } catch (err) {
    if (!(err instanceof TokenwardenError)) throw err;
    io.err(
      `status: the running daemon (pid ${info.pid}) did not answer: ${err.message}; reading the files\n`,
    );
    return undefined;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [ra, rb] = await Promise.all([
    realpath(a).catch(() => undefined),
    realpath(b).catch(() => undefined),
  ]);
  return ra !== undefined && ra === rb;
}

/** The daemon's rows in the shape the files give (the same JSON fields), plus when it renews next. */
function daemonRows(config: RenewerConfig, snapshot: StatusSnapshot, now: number): Row[] {
  const tokens = new Map(config.tokens.map((t) => [t.name, t] as const));
  const warningOf = new Map(
    snapshot.warnings.filter((w) => w.id !== undefined).map((w) => [w.id, w.message]),
  );
  return snapshot.rows.map((r) => {
    const token = tokens.get(r.id);
    const claims = { iat: r.issuedAt, exp: r.expiresAt };
    const lifetimeWarning = token === undefined ? undefined : minLifetimeWarning(token, claims);
    return {
      token: r.id,
      account: r.group,
      path: r.path ?? '',
      state: r.state,
      expires_in: r.expiresAt === undefined ? null : r.expiresAt - now,
      last_renewal: r.lastRenewal === undefined ? null : new Date(r.lastRenewal * 1000).toISOString(),
      last_error: r.lastError?.message ?? null,
      warning: lifetimeWarning ?? warningOf.get(r.id) ?? null,
      next_renewal: r.nextRenewalAt === undefined ? null : new Date(r.nextRenewalAt * 1000).toISOString(),
    };
  });
}

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

function table(rows: Row[], now: number): string {
  // A daemon knows when it renews each token next: a column of its own, only then.
  const next = rows.some((r) => r.next_renewal !== undefined);
  const head = [
    'TOKEN',
    'ACCOUNT',
    'STATE',
    'EXPIRES IN',
    ...(next ? ['NEXT RENEWAL'] : []),
    'LAST RENEWAL',
    'PATH',
    'LAST ERROR',
  ];
  const body = rows.map((r) => [
    r.token,
    r.account || '-',
    r.state,
    r.expires_in === null ? '-' : formatDuration(r.expires_in),
    ...(next ? [nextRenewal(r.next_renewal, now)] : []),
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

function nextRenewal(at: string | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  const left = Math.round(Date.parse(at) / 1000) - now;
  return left <= 0 ? 'now' : `in ${formatDuration(left)}`;
}
