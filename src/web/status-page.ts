/**
 * The status page: one self-contained HTML document rendered from a status snapshot (pure, clock passed
 * in). No script, no external resource: it refreshes itself with `<meta http-equiv=refresh>`, its one
 * stylesheet is inline and allowed by hash (STATUS_PAGE_CSP), and each remaining-lifetime bar is an SVG
 * rectangle whose width is an attribute, so no inline `style=` is needed either.
 *
 * Every text from the snapshot is passed through the JWT redaction filter and HTML-escaped. The snapshot
 * holds no secret by construction; the filter is the last line of defence for error text an issuer wrote.
 */
import { createHash } from 'node:crypto';
import { formatDuration } from '../tokens/lifetime.js';
import { escapeHtml } from './html.js';
import {
  CREDENTIAL_STATES,
  type CredentialRow,
  type CredentialState,
  type GroupStatus,
  type StatusError,
  type StatusSnapshot,
} from './status-model.js';

export interface StatusPageOptions {
  /** Epoch seconds the page is rendered at (relative times are computed from it). */
  now: number;
  /** Seconds between automatic reloads (default 10; 0 turns reloading off). */
  refreshSeconds?: number;
  /** The page title (default `tokenwarden SERVICE`). */
  title?: string;
}

export const DEFAULT_REFRESH_SECONDS = 10;

const STYLE = `
:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1d2330;--muted:#5d6677;--line:#e2e5ea;
--ok:#1f9d55;--low:#7cb342;--busy:#2b6cb0;--warn:#d97706;--bad:#d93025;--grey:#8a94a6;--track:#e8ebf0}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1c2027;--fg:#e6e9ef;--muted:#9aa3b2;
--line:#2c323c;--track:#2a3039}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header.top{padding:18px 28px;background:var(--card);border-bottom:1px solid var(--line);display:flex;
flex-wrap:wrap;align-items:baseline;gap:8px 32px}
header.top h1{margin:0;font-size:20px;font-weight:650}
header.top dl{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0;color:var(--muted)}
header.top dt{display:inline;font-weight:600}header.top dd{display:inline;margin:0 0 0 6px}
main{padding:18px 28px;max-width:1400px}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 16px}
.summary .count{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px 12px}
.summary .count b{font-size:18px;margin-right:6px}
.alert{border-radius:8px;padding:10px 14px;margin:0 0 12px;border:1px solid;background:var(--card)}
.alert.error{border-color:var(--bad)}.alert.warning{border-color:var(--warn)}
.alert h2{margin:0 0 6px;font-size:15px}
.alert ul{margin:0;padding-left:20px}.alert li{margin:4px 0}
.alert .kind{font-weight:600;margin-right:6px}.alert .kind::after{content:':'}
.group{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:0 0 16px;overflow:hidden}
.group>header{padding:12px 16px;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;
align-items:baseline;gap:4px 24px}
.group h2{margin:0;font-size:16px}
.group .meta{color:var(--muted);display:flex;flex-wrap:wrap;gap:4px 20px}
.group .problem{flex-basis:100%;color:var(--bad)}
table{width:100%;border-collapse:collapse;table-layout:fixed}
col.c-token{width:20%}col.c-state{width:110px}col.c-life{width:24%}col.c-last,col.c-next{width:140px}
td time{white-space:nowrap}
th,td{text-align:left;padding:8px 16px;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child td{border-bottom:0}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600}
td.id b{display:block;overflow-wrap:anywhere}td.id small{color:var(--muted);overflow-wrap:anywhere}
td{overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;color:#fff;
white-space:nowrap}
.badge.ok{background:var(--ok)}.badge.renewing{background:var(--busy)}.badge.failing{background:var(--warn)}
.badge.needs-login,.badge.broken{background:var(--bad)}.badge.missing{background:var(--grey)}
svg.bar{display:block;width:100%;height:10px;border-radius:5px;margin:4px 0 2px}
svg.bar .track{fill:var(--track)}
svg.bar .fill.good{fill:var(--ok)}svg.bar .fill.low{fill:var(--low)}svg.bar .fill.busy{fill:var(--busy)}
svg.bar .fill.warn{fill:var(--warn)}svg.bar .fill.bad{fill:var(--bad)}
.muted,small{color:var(--muted)}
.err code{font-weight:600;color:var(--bad)}.err .hint{display:block;color:var(--muted)}
footer{padding:0 28px 24px;color:var(--muted);font-size:12px}
`;

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/**
 * The Content-Security-Policy to serve the page with: nothing may load, and the one inline stylesheet is
 * allowed by its hash (no `'unsafe-inline'`).
 */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export const STATUS_PAGE_CONTENT_TYPE = 'text/html; charset=utf-8';

/** The response headers the page should be served with. */
export function statusPageHeaders(html: string): Record<string, string> {
  return {
    'content-type': STATUS_PAGE_CONTENT_TYPE,
    'content-security-policy': STATUS_PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    etag: statusPageEtag(html),
  };
}

/** A strong ETag of a rendered page. */
export function statusPageEtag(html: string): string {
  return `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
}

export { escapeHtml };

/**
 * The fraction of its lifetime a credential has left, `(exp − now) / (exp − iat)` clamped to [0, 1];
 * 0 without a token, undefined when the lifetime is unknown (no `iat`).
 */
export function remainingFraction(row: CredentialRow, now: number): number | undefined {
  if (row.expiresAt === undefined) return 0;
  if (row.issuedAt === undefined || row.expiresAt <= row.issuedAt) return row.expiresAt > now ? undefined : 0;
  return Math.min(1, Math.max(0, (row.expiresAt - now) / (row.expiresAt - row.issuedAt)));
}

export function renderStatusPage(snapshot: StatusSnapshot, opts: StatusPageOptions): string {
  const now = opts.now;
  const refresh = opts.refreshSeconds ?? DEFAULT_REFRESH_SECONDS;
  const title = opts.title ?? `tokenwarden ${snapshot.service}`;
  const rowsByGroup = new Map<string, CredentialRow[]>();
  for (const row of snapshot.rows) {
    const list = rowsByGroup.get(row.group);
    if (list === undefined) rowsByGroup.set(row.group, [row]);
    else list.push(row);
  }
  const groups: GroupStatus[] = [...snapshot.groups];
  const known = new Set(groups.map((g) => g.name));
  for (const name of rowsByGroup.keys()) if (!known.has(name)) groups.push({ name, kind: 'unknown' });

  const parts: string[] = [];
  parts.push(
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    refresh > 0 ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(refresh))}">` : '',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
  );
  parts.push(renderHeader(snapshot, title, now));
  parts.push('<main>');
  parts.push(renderSummary(snapshot));
  if (snapshot.configError !== undefined) {
    parts.push(
      '<section class="alert error" data-hook="config-error"><h2>The new configuration was refused; ',
      'the previous one keeps running</h2>',
      renderError(snapshot.configError),
      '</section>',
    );
  }
  if (snapshot.warnings.length > 0) {
    parts.push(
      `<section class="alert warning" data-hook="warnings"><h2>${plural(snapshot.warnings.length, 'warning')}</h2><ul>`,
    );
    for (const w of snapshot.warnings) {
      parts.push(
        `<li data-kind="${escapeHtml(w.kind)}" data-group="${escapeHtml(w.group)}"`,
        w.id === undefined ? '' : ` data-id="${escapeHtml(w.id)}"`,
        `><span class="kind">${escapeHtml(w.kind)}</span>${escapeHtml(w.message)} `,
        `<small>(since ${time(w.since, now)})</small></li>`,
      );
    }
    parts.push('</ul></section>');
  }
  for (const group of groups) parts.push(renderGroup(group, rowsByGroup.get(group.name) ?? [], now));
  if (groups.length === 0) parts.push('<p class="muted" data-hook="empty">Nothing is configured.</p>');
  parts.push(
    '</main><footer>',
    `Generated ${time(snapshot.generatedAt, now)}`,
    refresh > 0 ? `; this page reloads every ${plural(Math.max(1, Math.round(refresh)), 'second')}` : '',
    '. Times are UTC.</footer></body></html>\n',
  );
  return parts.join('');
}

function renderHeader(snapshot: StatusSnapshot, title: string, now: number): string {
  const items: string[] = [];
  const item = (name: string, hook: string, value: string) =>
    items.push(`<div data-hook="${hook}"><dt>${name}</dt><dd>${value}</dd></div>`);
  item('Service', 'service', escapeHtml(snapshot.service));
  if (snapshot.configFile !== undefined)
    item('Config', 'config-file', `<code>${escapeHtml(snapshot.configFile)}</code>`);
  item('Started', 'started', time(snapshot.startedAt, now));
  if (snapshot.configLoadedAt !== undefined)
    item('Loaded', 'config-loaded', time(snapshot.configLoadedAt, now));
  return `<header class="top"><h1>${escapeHtml(title)}</h1><dl>${items.join('')}</dl></header>`;
}

function renderSummary(snapshot: StatusSnapshot): string {
  const counts = new Map<CredentialState, number>(CREDENTIAL_STATES.map((s) => [s, 0]));
  for (const row of snapshot.rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const items = [`<div class="count" data-state="total"><b>${snapshot.rows.length}</b>tokens</div>`];
  for (const [state, n] of counts) {
    if (n > 0) items.push(`<div class="count" data-state="${state}"><b>${n}</b>${badge(state)}</div>`);
  }
  return `<section class="summary" data-hook="summary">${items.join('')}</section>`;
}

function renderGroup(group: GroupStatus, rows: CredentialRow[], now: number): string {
  const meta: string[] = [`<span data-hook="kind">${escapeHtml(group.kind)}</span>`];
  if (group.issuer !== undefined) meta.push(`<span data-hook="issuer">${escapeHtml(group.issuer)}</span>`);
  if (group.refreshTokenIssuedAt !== undefined) {
    meta.push(
      `<span data-hook="refresh-token-age">refresh token ${formatDuration(Math.max(0, now - group.refreshTokenIssuedAt))} old</span>`,
    );
  }
  if (group.refreshTokenExpiresAt !== undefined) {
    meta.push(
      `<span data-hook="refresh-token-expires">refresh token expires ${time(group.refreshTokenExpiresAt, now)}</span>`,
    );
  }
  if (group.issuerFailingSince !== undefined) {
    meta.push(
      `<span data-hook="issuer-failing">issuer failing since ${time(group.issuerFailingSince, now)}</span>`,
    );
  }
  const problem =
    group.problem === undefined
      ? ''
      : `<div class="problem" data-hook="problem">${renderError(group.problem)}</div>`;
  const body =
    rows.length === 0
      ? '<p class="muted">No tokens.</p>'
      : '<table><colgroup><col class="c-token"><col class="c-state"><col class="c-life"><col class="c-last">' +
        '<col class="c-next"><col class="c-error"></colgroup>' +
        `<thead><tr><th>Token</th><th>State</th><th>Remaining lifetime</th><th>Last renewal</th>` +
        `<th>Next renewal</th><th>Last error</th></tr></thead><tbody>${rows.map((r) => renderRow(r, now)).join('')}</tbody></table>`;
  return (
    `<section class="group" data-group="${escapeHtml(group.name)}"><header><h2>${escapeHtml(group.name)}</h2>` +
    `<div class="meta">${meta.join('')}</div>${problem}</header>${body}</section>`
  );
}

function renderRow(row: CredentialRow, now: number): string {
  const fraction = remainingFraction(row, now);
  const left = row.expiresAt === undefined ? undefined : row.expiresAt - now;
  const words =
    left === undefined ? 'no valid token' : left > 0 ? `${formatDuration(left)} left` : formatDuration(left);
  const width = fraction === undefined ? 100 : round(fraction * 100, 2);
  const attr = fraction === undefined ? '' : ` data-remaining-fraction="${round(fraction, 4)}"`;
  const bar =
    `<svg class="bar" role="img" aria-label="${escapeHtml(words)}"${attr} preserveAspectRatio="none">` +
    `<rect class="track" width="100%" height="100%"/>` +
    `<rect class="fill ${barClass(row.state, fraction)}" width="${width}%" height="100%"/></svg>`;
  const failures =
    row.failures !== undefined && row.failures > 0
      ? ` <small>(${plural(row.failures, 'failure')} in a row)</small>`
      : '';
  return (
    `<tr data-id="${escapeHtml(row.id)}" data-state="${escapeHtml(row.state)}">` +
    `<td class="id"><b>${escapeHtml(row.id)}</b>${row.path === undefined ? '' : `<small>${escapeHtml(row.path)}</small>`}</td>` +
    `<td>${badge(row.state)}</td>` +
    `<td class="life">${bar}<span data-hook="time-left">${escapeHtml(words)}</span></td>` +
    `<td>${row.lastRenewal === undefined ? '<span class="muted">never</span>' : time(row.lastRenewal, now)}</td>` +
    `<td>${row.nextRenewalAt === undefined ? '<span class="muted">none scheduled</span>' : time(row.nextRenewalAt, now)}</td>` +
    `<td>${row.lastError === undefined ? '' : renderError(row.lastError)}${failures}</td></tr>`
  );
}

function barClass(state: CredentialState, fraction: number | undefined): string {
  const f = fraction ?? 1;
  switch (state) {
    case 'ok':
      return f < 0.1 ? 'low' : 'good';
    case 'renewing':
      return 'busy';
    case 'failing':
      return f < 0.25 ? 'bad' : 'warn';
    default:
      return 'bad';
  }
}

function renderError(error: StatusError): string {
  return (
    `<span class="err" data-hook="error" data-code="${escapeHtml(error.code)}"><code>${escapeHtml(error.code)}</code> ` +
    `${escapeHtml(error.message)}${error.hint === undefined ? '' : `<span class="hint">${escapeHtml(error.hint)}</span>`}</span>`
  );
}

function badge(state: CredentialState): string {
  const s = escapeHtml(state);
  return `<span class="badge ${s}" data-hook="state">${s}</span>`;
}

/** An absolute time (UTC, machine-readable) shown as how long ago or how soon it is. */
function time(epochSeconds: number, now: number): string {
  // A time past what a Date can hold (a token claiming exp 1e15) is shown as such, not a crash.
  const date = new Date(Math.floor(epochSeconds) * 1000);
  if (!Number.isFinite(date.getTime())) return '<time>out of range</time>';
  const iso = `${date.toISOString().slice(0, 19)}Z`;
  const delta = epochSeconds - now;
  const words =
    Math.abs(delta) < 1 ? 'now' : delta < 0 ? `${formatDuration(-delta)} ago` : `in ${formatDuration(delta)}`;
  return `<time datetime="${iso}" title="${iso}">${words}</time>`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
