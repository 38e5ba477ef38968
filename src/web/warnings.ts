/**
 * Warnings ahead of trouble, decided from a status snapshot alone (pure, clock passed in): what the
 * status page shows in its banner, what `/metrics` counts and what the webhook sends. Each message says
 * what to do, in words a person on call can act on.
 */
import { formatDuration } from '../tokens/lifetime.js';
import type {
  CredentialRow,
  GroupStatus,
  StatusSnapshot,
  StatusWarning,
  WarningKind,
} from './status-model.js';

/** A refresh token the issuer says expires within this many seconds is warned about (7 days). */
export const DEFAULT_REFRESH_TOKEN_WARN_SECONDS = 7 * 24 * 3600;

export interface WarningOptions {
  /** Seconds before the refresh token's issuer-side expiry to start warning (default 7 days). */
  refreshTokenWarnSeconds?: number;
}

/** The order warnings are listed in: the most urgent kind first. */
export const WARNING_KINDS: readonly WarningKind[] = [
  'needs-login',
  'issuer-outage',
  'refresh-token-expiring',
];

const NEEDS_LOGIN = 'NEEDS_LOGIN';

/**
 * Every warning the snapshot calls for at `now` (epoch seconds):
 * - `needs-login`: once per group whose `problem` is NEEDS_LOGIN; and once per credential that fails with
 *   NEEDS_LOGIN (or is in the `needs-login` state) when its group is not already warned about;
 * - `issuer-outage`: once per group whose issuer has failed for longer than one of its credentials has
 *   left to live (`now − issuerFailingSince > expiresAt − now`), or while one has no valid token left;
 * - `refresh-token-expiring`: once per group whose refresh token expires (by the issuer's word) within
 *   `refreshTokenWarnSeconds`.
 * Sorted by kind (most urgent first), then group and credential, so the list is stable between calls.
 */
export function computeWarnings(
  snapshot: Omit<StatusSnapshot, 'warnings'>,
  now: number,
  opts: WarningOptions = {},
): StatusWarning[] {
  const warnSeconds = opts.refreshTokenWarnSeconds ?? DEFAULT_REFRESH_TOKEN_WARN_SECONDS;
  const rowsByGroup = new Map<string, CredentialRow[]>();
  for (const row of snapshot.rows) {
    const list = rowsByGroup.get(row.group);
    if (list === undefined) rowsByGroup.set(row.group, [row]);
    else list.push(row);
  }
  const out: StatusWarning[] = [];
  const groupsNeedingLogin = new Set<string>();
  for (const group of snapshot.groups) {
    const rows = rowsByGroup.get(group.name) ?? [];
    // Any problem that stops the whole group waits for a person: a refused refresh token, no credential
    // yet, one that does not decrypt, a password file that cannot be read.
    if (group.problem !== undefined) {
      groupsNeedingLogin.add(group.name);
      out.push(groupNeedsLogin(group, rows, now));
    }
    const outage = issuerOutage(group, rows, now);
    if (outage !== undefined) out.push(outage);
    const expiring = refreshTokenExpiring(group, now, warnSeconds);
    if (expiring !== undefined) out.push(expiring);
  }
  for (const row of snapshot.rows) {
    if (groupsNeedingLogin.has(row.group)) continue;
    if (row.state === 'needs-login' || row.lastError?.code === NEEDS_LOGIN) {
      out.push({
        kind: 'needs-login',
        group: row.group,
        id: row.id,
        message:
          `${row.id}: the issuer refused the refresh token of ${row.group}, so it cannot be renewed. ` +
          (row.lastError?.hint ?? `Log in again for ${row.group} (tokenwarden setup ${row.group}).`),
        since: row.failingSince ?? now,
      });
    }
  }
  const rank = (k: WarningKind) => WARNING_KINDS.indexOf(k);
  return out.sort(
    (a, b) => rank(a.kind) - rank(b.kind) || compare(a.group, b.group) || compare(a.id ?? '', b.id ?? ''),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function groupNeedsLogin(group: GroupStatus, rows: CredentialRow[], now: number): StatusWarning {
  const since = rows.reduce<number | undefined>(
    (min, r) =>
      r.failingSince !== undefined && (min === undefined || r.failingSince < min) ? r.failingSince : min,
    undefined,
  );
  const count = rows.length === 1 ? '1 token' : `${rows.length} tokens`;
  const refused = group.problem?.code === NEEDS_LOGIN;
  const why = refused ? 'the issuer refused its refresh token' : `it cannot renew: ${group.problem?.message}`;
  const what = refused ? 'needs a new login' : 'needs attention';
  return {
    kind: 'needs-login',
    group: group.name,
    message:
      `${group.name} ${what}: ${why}, and its ${count} will not be renewed until then. ` +
      `${group.problem?.hint ?? `Log in again (tokenwarden setup ${group.name}).`}`,
    since: since ?? now,
  };
}

/**
 * The issuer has failed for longer than some credential has left: that credential will expire before
 * the issuer comes back unless the outage ends sooner than it has so far. One warning per group (not per
 * credential, so an outage of a big issuer is one message per account), naming the soonest to expire.
 */
function issuerOutage(group: GroupStatus, rows: CredentialRow[], now: number): StatusWarning | undefined {
  const failingSince = group.issuerFailingSince;
  if (failingSince === undefined) return undefined;
  const failingFor = now - failingSince;
  let soonest: { row: CredentialRow; left: number } | undefined;
  let affected = 0;
  for (const row of rows) {
    // These are not waiting for the issuer: their own warning or configuration says what is wrong.
    if (row.state === 'broken' || row.state === 'needs-login') continue;
    const left = row.expiresAt === undefined ? 0 : row.expiresAt - now;
    if (failingFor > left || left <= 0) {
      affected++;
      if (soonest === undefined || left < soonest.left) soonest = { row, left };
    }
  }
  if (soonest === undefined) return undefined;
  const issuer = group.issuer ?? 'the issuer';
  const what =
    soonest.left <= 0
      ? `${soonest.row.id} has no valid token left`
      : `${soonest.row.id} expires in ${formatDuration(soonest.left)}`;
  const others = affected > 1 ? ` (${affected} tokens of ${group.name} are at risk)` : '';
  return {
    kind: 'issuer-outage',
    group: group.name,
    message:
      `${issuer} has failed for ${formatDuration(failingFor)} and ${what}${others}. ` +
      `Check the issuer's status and this host's network and DNS; renewals resume on their own when it answers.`,
    since: failingSince,
  };
}

function refreshTokenExpiring(
  group: GroupStatus,
  now: number,
  warnSeconds: number,
): StatusWarning | undefined {
  const expiresAt = group.refreshTokenExpiresAt;
  if (expiresAt === undefined || expiresAt - now >= warnSeconds) return undefined;
  const left = expiresAt - now;
  const when = left > 0 ? `expires in ${formatDuration(left)}` : `expired ${formatDuration(-left)} ago`;
  return {
    kind: 'refresh-token-expiring',
    group: group.name,
    message:
      `The refresh token of ${group.name} ${when} (${new Date(expiresAt * 1000).toISOString()}), ` +
      `by the issuer's word. Log in again before then (tokenwarden setup ${group.name}).`,
    since: expiresAt - warnSeconds,
  };
}
