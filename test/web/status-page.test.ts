import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  escapeHtml,
  remainingFraction,
  renderStatusPage,
  STATUS_PAGE_CSP,
  statusPageEtag,
  statusPageHeaders,
} from '../../src/web/status-page.js';
import { fixtureSnapshot, HOSTILE_GROUP, HOSTILE_ID, NOW, PLANTED_JWT } from './snapshot-fixture.js';

function attr(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

describe('renderStatusPage', () => {
  const snapshot = fixtureSnapshot();
  const html = renderStatusPage(snapshot, { now: NOW });

  it('shows every credential once, with its state, a bar and the time left', () => {
    for (const row of snapshot.rows) {
      const open = `<tr data-id="${attr(row.id)}" data-state="${row.state}">`;
      assert.equal(html.split(open).length, 2, `one row for ${row.id}`);
      const tr = html.slice(html.indexOf(open), html.indexOf('</tr>', html.indexOf(open)));
      assert.match(tr, new RegExp(`<span class="badge ${row.state}" data-hook="state">${row.state}</span>`));
      assert.match(tr, /<svg class="bar"/);
    }
    assert.match(html, /data-id="cms-ce" data-state="ok">.*data-remaining-fraction="0.5".*30m 00s left/);
    assert.match(
      html,
      /data-id="dune-ce" data-state="needs-login">.*data-remaining-fraction="0".*expired 6m 40s ago/,
    );
    assert.match(
      html,
      /data-id="atlas-new" data-state="missing">.*data-remaining-fraction="0".*no valid token/,
    );
  });

  it('renders a token whose times are beyond what a date can hold (a regression: it threw)', () => {
    const far = fixtureSnapshot();
    const first = far.rows[0];
    assert.ok(first);
    first.expiresAt = 9e15;
    first.nextRenewalAt = 1e308;
    first.lastRenewal = -1e16;
    const page = renderStatusPage(far, { now: NOW });
    assert.match(page, /out of range/);
  });

  it('shows each group with its kind, issuer, refresh-token age and problem', () => {
    for (const g of snapshot.groups)
      assert.match(html, new RegExp(`<section class="group" data-group="${escapeRe(attr(g.name))}">`));
    assert.match(html, /data-group="cms">.*refresh token 12d 00h old/);
    assert.match(
      html,
      /data-group="dune">.*data-hook="problem".*<code>NEEDS_LOGIN<\/code> issuer answered invalid_grant/,
    );
  });

  it('has the header, the refused config, the warnings banner and a self-refresh', () => {
    assert.match(html, /<meta http-equiv="refresh" content="10">/);
    assert.match(html, /<title>tokenwarden daemon<\/title>/);
    assert.match(html, /<code>\/etc\/tokenwarden\/config.ini<\/code>/);
    assert.match(html, /data-hook="config-error">.*unknown option pasword_file/);
    assert.match(html, /data-hook="warnings"><h2>3 warnings<\/h2>/);
    for (const w of snapshot.warnings) assert.ok(html.includes(attr(w.message)), w.kind);
    const other = renderStatusPage(snapshot, { now: NOW, refreshSeconds: 0, title: 'site <tokens>' });
    assert.doesNotMatch(other, /http-equiv/);
    assert.match(other, /<title>site &lt;tokens&gt;<\/title>/);
  });

  it('escapes every text: names holding markup, quotes and ampersands come out as text', () => {
    assert.doesNotMatch(html, /<script/i);
    assert.ok(html.includes(attr(HOSTILE_ID)));
    assert.ok(html.includes(`data-group="${attr(HOSTILE_GROUP)}"`));
    assert.ok(html.includes('&quot;weird&quot; &amp; &lt;odd&gt;'));
    assert.ok(html.includes('check the network &lt;and&gt; DNS'));
    assert.equal(escapeHtml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&#39;');
  });

  it('never shows a JWT an issuer quoted in an error: it is redacted', () => {
    assert.ok(snapshot.rows.some((r) => r.lastError?.message.includes(PLANTED_JWT)));
    assert.ok(!html.includes(PLANTED_JWT));
    assert.ok(!html.includes(PLANTED_JWT.split('.')[1] as string));
    assert.match(html, /it said \[REDACTED-JWT\]/);
  });

  it('needs no script and no inline style attribute; its stylesheet matches the CSP hash', () => {
    assert.doesNotMatch(html, /<script|\sstyle="|\son[a-z]+=|<link|<img|src=/i);
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(css).digest('base64');
    assert.ok(STATUS_PAGE_CSP.includes(`style-src 'sha256-${hash}'`));
    assert.match(STATUS_PAGE_CSP, /default-src 'none'/);
    const headers = statusPageHeaders(html);
    assert.equal(headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(headers['content-security-policy'], STATUS_PAGE_CSP);
    assert.equal(headers.etag, statusPageEtag(html));
    assert.notEqual(statusPageEtag(html), statusPageEtag(renderStatusPage(snapshot, { now: NOW + 1 })));
  });

  it('an empty snapshot says nothing is configured', () => {
    const empty = renderStatusPage(
      { ...snapshot, rows: [], groups: [], warnings: [], configError: undefined },
      { now: NOW },
    );
    assert.match(empty, /data-hook="empty">Nothing is configured/);
    assert.doesNotMatch(empty, /data-hook="warnings"|data-hook="config-error"/);
  });
});

describe('remainingFraction', () => {
  it('is (exp − now) / (exp − iat), clamped, 0 without a token, undefined without iat', () => {
    const row = { id: 'a', group: 'g', state: 'ok' as const };
    assert.equal(remainingFraction({ ...row, issuedAt: NOW - 750, expiresAt: NOW + 250 }, NOW), 0.25);
    assert.equal(remainingFraction({ ...row, issuedAt: NOW - 750, expiresAt: NOW - 1 }, NOW), 0);
    assert.equal(remainingFraction({ ...row, issuedAt: NOW + 10, expiresAt: NOW + 100 }, NOW), 1);
    assert.equal(remainingFraction(row, NOW), 0);
    assert.equal(remainingFraction({ ...row, expiresAt: NOW + 100 }, NOW), undefined);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
