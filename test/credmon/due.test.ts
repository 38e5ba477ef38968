import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialDue, renewalTime, useFileTimes } from '../../src/credmon/due.js';
import { ProviderQueue } from '../../src/credmon/queue.js';

/** An unsigned JWT with these claims (due.ts only reads claims). */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('sig').toString('base64url')}`;
}

const NOW = 1_800_000_000_000;
const base = { renewFraction: 0.5, credentialRefreshSeconds: 300, now: NOW };

describe('credentialDue: when a credential is renewed, from its own files', () => {
  it('at once when .use is missing, older than .top, unreadable or expired', () => {
    assert.equal(credentialDue({ ...base, topMtimeMs: NOW - 10, use: undefined }).reason, 'no-use');
    const fresh = JSON.stringify({ access_token: jwt({ iat: NOW / 1000 - 60, exp: NOW / 1000 + 3540 }) });
    assert.deepEqual(
      credentialDue({ ...base, topMtimeMs: NOW - 5, use: { text: fresh, mtimeMs: NOW - 10 } }),
      { at: NOW, reason: 'top-newer' },
    );
    assert.equal(
      credentialDue({ ...base, topMtimeMs: 0, use: { text: '{not json', mtimeMs: NOW - 10 } }).reason,
      'unreadable-use',
    );
    const expired = JSON.stringify({ access_token: jwt({ iat: NOW / 1000 - 7200, exp: NOW / 1000 - 3600 }) });
    assert.equal(credentialDue({ ...base, topMtimeMs: 0, use: { text: expired, mtimeMs: 0 } }).at, NOW);
  });

  it('at half the lifetime, from the JWT of a JSON .use or a bare <JWT>\\n, or mtime + expires_in', () => {
    const iat = NOW / 1000 - 60;
    const token = jwt({ iat, exp: iat + 3600 });
    const json = credentialDue({
      ...base,
      topMtimeMs: 0,
      use: { text: JSON.stringify({ access_token: token, expires_in: 3600 }), mtimeMs: NOW - 60_000 },
    });
    assert.equal(json.reason, 'schedule');
    assert.equal(json.at, (iat + 1800) * 1000);
    assert.equal(
      credentialDue({ ...base, topMtimeMs: 0, use: { text: `${token}\n`, mtimeMs: NOW } }).at,
      (iat + 1800) * 1000,
    );
    const opaque = credentialDue({
      ...base,
      topMtimeMs: 0,
      use: { text: JSON.stringify({ access_token: 'opaque', expires_in: 1000 }), mtimeMs: NOW - 100_000 },
    });
    // Half its life would be 400 s from now, leaving 500 s: brought forward to exp − 2 × 300 s.
    assert.equal(opaque.at, NOW + 300_000);
  });

  it('early enough to leave two starter pulls, never in a loop for a short token', () => {
    const iat = NOW / 1000;
    // 1200 s (the local issuer's default): half is 600 s, which leaves exactly two pulls of 300 s.
    assert.equal(renewalTime({ issuedAt: iat, expiresAt: iat + 1200 }, 0.5, 300, NOW), (iat + 600) * 1000);
    // 20 min at 0.8: 960 s would leave 240 s, less than two pulls: brought forward to exp - 600.
    assert.equal(renewalTime({ issuedAt: iat, expiresAt: iat + 1200 }, 0.8, 300, NOW), (iat + 600) * 1000);
    // 5 min: two pulls are more than its life; renewed at a quarter, not at once.
    assert.equal(renewalTime({ issuedAt: iat, expiresAt: iat + 300 }, 0.5, 300, NOW), (iat + 75) * 1000);
  });

  it('reads iat/exp from a JWT, and falls back to the mtime for a JWT without iat', () => {
    assert.deepEqual(useFileTimes(jwt({ exp: 2000 }), 1_000_000), { issuedAt: 1000, expiresAt: 2000 });
    assert.equal(useFileTimes('[]', 0), undefined);
    assert.equal(useFileTimes(JSON.stringify({ access_token: 'x', expires_in: -5 }), 0), undefined);
  });
});

describe('ProviderQueue: one provider cannot take every slot', () => {
  it('runs at most perProvider of one provider, and the others meanwhile', async () => {
    const q = new ProviderQueue(4, 2);
    const release: Array<() => void> = [];
    const started: string[] = [];
    const hang = (name: string) => () =>
      new Promise<void>((resolve) => {
        started.push(name);
        release.push(resolve);
      });
    for (let i = 0; i < 5; i++) q.push('hung', hang(`hung${i}`));
    let quick = 0;
    for (let i = 0; i < 3; i++)
      q.push('ok', async () => {
        quick++;
      });
    await new Promise((r) => setImmediate(r));
    assert.equal(quick, 3, 'the other provider ran while two hung');
    assert.deepEqual(started, ['hung0', 'hung1']);
    assert.equal(q.running(), 2);
    assert.equal(q.queued(), 3);
    for (const r of release.splice(0)) r();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['hung0', 'hung1', 'hung2', 'hung3']);
    q.clear();
    for (const r of release.splice(0)) r();
    await q.idle();
    assert.equal(q.running(), 0);
  });
});
