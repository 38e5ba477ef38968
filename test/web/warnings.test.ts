import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CredentialRow, GroupStatus, StatusSnapshot } from '../../src/web/status-model.js';
import { computeWarnings, DEFAULT_REFRESH_TOKEN_WARN_SECONDS } from '../../src/web/warnings.js';
import { fixtureSnapshot, HOSTILE_GROUP, NOW } from './snapshot-fixture.js';

function snapshot(groups: GroupStatus[], rows: CredentialRow[]): Omit<StatusSnapshot, 'warnings'> {
  return { service: 'daemon', generatedAt: NOW, startedAt: NOW - 10, rows, groups };
}

function row(id: string, group: string, extra: Partial<CredentialRow> = {}): CredentialRow {
  return { id, group, state: 'ok', issuedAt: NOW - 600, expiresAt: NOW + 3000, ...extra };
}

describe('computeWarnings', () => {
  it('warns of a group that cannot renew for any reason a person must fix, not only a refused token', () => {
    const w = computeWarnings(
      snapshot(
        [
          {
            name: 'cms',
            kind: 'refresh',
            problem: {
              code: 'STORE_NOT_FOUND',
              message: 'no credential for [account cms] yet',
              hint: 'run: tokenwarden setup cms',
            },
          },
        ],
        [row('c', 'cms', { state: 'failing', failingSince: NOW - 5 })],
      ),
      NOW,
    );
    assert.equal(w.length, 1);
    assert.equal(w[0]?.kind, 'needs-login');
    assert.match(
      w[0]?.message ?? '',
      /cms needs attention: it cannot renew: no credential .*run: tokenwarden setup cms/,
    );
  });

  it('warns once for a group that needs a login, saying what to run, not once per token', () => {
    const w = computeWarnings(
      snapshot(
        [
          {
            name: 'dune',
            kind: 'refresh',
            problem: { code: 'NEEDS_LOGIN', message: 'x', hint: 'run: tokenwarden setup dune' },
          },
        ],
        [
          row('a', 'dune', { state: 'needs-login', failingSince: NOW - 50 }),
          row('b', 'dune', { state: 'needs-login', failingSince: NOW - 90 }),
        ],
      ),
      NOW,
    );
    assert.equal(w.length, 1);
    assert.equal(w[0]?.kind, 'needs-login');
    assert.equal(w[0]?.group, 'dune');
    assert.equal(w[0]?.id, undefined);
    assert.equal(w[0]?.since, NOW - 90);
    assert.match(w[0]?.message ?? '', /dune needs a new login.*2 tokens.*run: tokenwarden setup dune/);
  });

  it('warns per token failing with NEEDS_LOGIN when its group is not marked', () => {
    const w = computeWarnings(
      snapshot(
        [{ name: 'vo', kind: 'refresh' }],
        [
          row('t1', 'vo', { state: 'failing', lastError: { code: 'NEEDS_LOGIN', message: 'invalid_grant' } }),
          row('t2', 'vo'),
        ],
      ),
      NOW,
    );
    assert.deepEqual(
      w.map((x) => [x.kind, x.group, x.id]),
      [['needs-login', 'vo', 't1']],
    );
    assert.match(w[0]?.message ?? '', /Log in again for vo \(tokenwarden setup vo\)/);
  });

  it('warns of an issuer outage once it has lasted longer than a token has left', () => {
    const group: GroupStatus = {
      name: 'atlas',
      kind: 'refresh',
      issuer: 'https://iam.example/',
      issuerFailingSince: NOW - 1000,
    };
    // 1000 s failing, tokens with 3000 s and 1500 s left: not yet.
    assert.deepEqual(
      computeWarnings(
        snapshot([group], [row('a', 'atlas'), row('b', 'atlas', { expiresAt: NOW + 1500 })]),
        NOW,
      ),
      [],
    );
    // One token with 999 s left: warned, naming it.
    const w = computeWarnings(
      snapshot([group], [row('a', 'atlas'), row('b', 'atlas', { expiresAt: NOW + 999 })]),
      NOW,
    );
    assert.equal(w.length, 1);
    assert.equal(w[0]?.kind, 'issuer-outage');
    assert.equal(w[0]?.since, NOW - 1000);
    assert.match(
      w[0]?.message ?? '',
      /https:\/\/iam\.example\/ has failed for 16m 40s and b expires in 16m 39s\./,
    );
    assert.match(w[0]?.message ?? '', /Check the issuer's status/);
  });

  it('counts an expired or missing token as at risk as soon as the issuer fails, and names the soonest', () => {
    const group: GroupStatus = { name: 'g', kind: 'refresh', issuerFailingSince: NOW - 5 };
    const w = computeWarnings(
      snapshot(
        [group],
        [
          row('fresh', 'g'),
          row('expired', 'g', { state: 'failing', expiresAt: NOW - 30 }),
          { id: 'none', group: 'g', state: 'missing' },
          row('login', 'g', { state: 'needs-login', expiresAt: NOW - 100 }),
        ],
      ),
      NOW,
    );
    // The needs-login token has its own warning and is not counted as waiting for the issuer.
    assert.deepEqual(
      w.map((x) => [x.kind, x.id]),
      [
        ['needs-login', 'login'],
        ['issuer-outage', undefined],
      ],
    );
    assert.match(
      w[1]?.message ?? '',
      /the issuer has failed for 5s and expired has no valid token left \(2 tokens of g are at risk\)/,
    );
  });

  it('no outage warning without issuerFailingSince, however close a token is to expiry', () => {
    assert.deepEqual(
      computeWarnings(
        snapshot([{ name: 'g', kind: 'refresh' }], [row('a', 'g', { expiresAt: NOW + 1 })]),
        NOW,
      ),
      [],
    );
  });

  it('warns of a refresh token near its issuer-side expiry, with the threshold given or 7 days', () => {
    const groups: GroupStatus[] = [
      { name: 'soon', kind: 'refresh', refreshTokenExpiresAt: NOW + 2 * 86_400 },
      { name: 'later', kind: 'refresh', refreshTokenExpiresAt: NOW + 30 * 86_400 },
      { name: 'gone', kind: 'refresh', refreshTokenExpiresAt: NOW - 60 },
      { name: 'unknown', kind: 'refresh' },
    ];
    const w = computeWarnings(snapshot(groups, []), NOW);
    assert.deepEqual(
      w.map((x) => [x.kind, x.group]),
      [
        ['refresh-token-expiring', 'gone'],
        ['refresh-token-expiring', 'soon'],
      ],
    );
    const soon = w.find((x) => x.group === 'soon');
    assert.equal(soon?.since, NOW + 2 * 86_400 - DEFAULT_REFRESH_TOKEN_WARN_SECONDS);
    assert.match(
      soon?.message ?? '',
      /The refresh token of soon expires in 2d 00h \(.*Z\).*Log in again before then/,
    );
    assert.match(w.find((x) => x.group === 'gone')?.message ?? '', /expired 1m 00s ago/);
    const wide = computeWarnings(snapshot(groups, []), NOW, { refreshTokenWarnSeconds: 60 * 86_400 });
    assert.equal(wide.length, 3);
  });

  it('is pure and ordered by urgency, then group, on the fixture with every state', () => {
    const { warnings, ...rest } = fixtureSnapshot();
    const again = computeWarnings(rest, NOW);
    assert.deepEqual(again, warnings);
    assert.deepEqual(
      again.map((w) => [w.kind, w.group, w.id]),
      [
        ['needs-login', 'dune', undefined],
        ['issuer-outage', 'atlas', undefined],
        ['refresh-token-expiring', 'cms', undefined],
      ],
    );
    assert.ok(!again.some((w) => w.group === HOSTILE_GROUP));
  });
});
