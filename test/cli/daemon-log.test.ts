import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonLogEvent } from '../../src/cli/daemon.js';
import { TokenwardenError } from '../../src/errors.js';
import { createLog, journaldSink, type LogEvent, stderrSink } from '../../src/log/index.js';
import type { DaemonEvent } from '../../src/renewal/daemon.js';

const ctx = { now: 1_000_000, config: '/etc/tokenwarden/config.ini', tokens: 3, reason: 'SIGTERM' };
const at = Date.parse('2026-12-01T20:15:04.123Z');
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

/** The lines of `events` as the daemon's log writes them on stderr and to the journal. */
function lines(events: DaemonEvent[]): { stderr: string[]; journal: string[] } {
  const stderr: string[] = [];
  const journal: string[] = [];
  const log = createLog(
    [stderrSink({ write: (t) => stderr.push(t) }), journaldSink({ write: (t) => journal.push(t) })],
    { now: () => at },
  );
  for (const e of events) {
    const event = daemonLogEvent(e, ctx);
    if (event !== undefined) log.emit(event as LogEvent);
  }
  log.close();
  return { stderr, journal };
}

describe("the daemon's events on the one log", () => {
  it('words each event as one type key=value line, with the facts the old lines had', () => {
    const network = new TokenwardenError('NETWORK', `refresh: connect ECONNREFUSED (${JWT})`);
    const login = new TokenwardenError('NEEDS_LOGIN', 'account vo: issuer answered invalid_grant', {
      hint: 'run: tokenwarden setup vo --config /c.ini',
    });
    const { stderr, journal } = lines([
      { type: 'started', tokens: 3, accounts: 2, broken: 1 },
      { type: 'renewed', token: 'a', account: 'vo', expiresAt: ctx.now + 1200, nextAt: ctx.now + 570.4 },
      { type: 'failed', token: 'a', account: 'vo', error: network, retryAt: ctx.now + 40, attempt: 2 },
      { type: 'failed', token: 'b', account: 'vo', error: login, attempt: 1 },
      { type: 'account-blocked', account: 'vo', error: login },
      { type: 'account-blocked', account: 'ghost', error: new TokenwardenError('STORE_NOT_FOUND', 'none') },
      { type: 'account-resumed', account: 'ghost' },
      { type: 'refresh-token-expiring', account: 'vo', expiresAt: ctx.now + 3 * 86400 },
      { type: 'reloaded', added: ['c'], removed: [], changed: ['a', 'b'] },
      { type: 'reload-refused', error: new TokenwardenError('CONFIG_INVALID', '/c.ini line 9: bad') },
      { type: 'warning', message: 'token a: issued for less than min_lifetime' },
      { type: 'stopping' },
      { type: 'stopped' },
    ]);
    const T = '2026-12-01T20:15:04.123Z';
    assert.deepEqual(stderr, [
      `${T} daemon.started config=/etc/tokenwarden/config.ini tokens=3 accounts=2 broken=1 pid=${process.pid}\n`,
      `${T} renewal.succeeded token=a account=vo expires_in=1200 next_renewal_in=570\n`,
      `${T} renewal.failed token=a account=vo code=NETWORK message="refresh: connect ECONNREFUSED ([REDACTED-JWT])" attempt=2 retry_in=40\n`,
      `${T} renewal.failed token=b account=vo code=NEEDS_LOGIN message="account vo: issuer answered invalid_grant" hint="run: tokenwarden setup vo --config /c.ini" attempt=1\n`,
      `${T} account.needs-login account=vo message="account vo: issuer answered invalid_grant" hint="run: tokenwarden setup vo --config /c.ini" note="not retried until its credential or password file changes, or a reload (SIGHUP)"\n`,
      `${T} account.blocked account=ghost code=STORE_NOT_FOUND message=none note="not retried until its credential or password file changes, or a reload (SIGHUP)"\n`,
      `${T} account.resumed account=ghost\n`,
      `${T} account.refresh-token-expiring account=vo expires_at=${new Date((ctx.now + 3 * 86400) * 1000).toISOString()} expires_in=259200 hint="log in again before then; run: tokenwarden setup vo --config /etc/tokenwarden/config.ini"\n`,
      `${T} daemon.reloaded config=/etc/tokenwarden/config.ini tokens=3 added=1 removed=0 changed=2\n`,
      `${T} daemon.reload-refused config=/etc/tokenwarden/config.ini code=CONFIG_INVALID message="/c.ini line 9: bad" note="new configuration refused; the previous one keeps running"\n`,
      `${T} daemon.warning message="token a: issued for less than min_lifetime"\n`,
      `${T} daemon.stopped reason=SIGTERM\n`,
    ]);
    // The journal takes the priority from the prefix: failures are warnings, a needed login an error.
    assert.deepEqual(
      journal.map((l) => l.slice(0, l.indexOf(' '))),
      [
        '<6>daemon.started',
        '<6>renewal.succeeded',
        '<4>renewal.failed',
        '<4>renewal.failed',
        '<3>account.needs-login',
        '<3>account.blocked',
        '<6>account.resumed',
        '<4>account.refresh-token-expiring',
        '<6>daemon.reloaded',
        '<3>daemon.reload-refused',
        '<4>daemon.warning',
        '<6>daemon.stopped',
      ],
    );
  });

  it('never gives a negative time', () => {
    const event = daemonLogEvent(
      { type: 'renewed', token: 'a', account: 'vo', expiresAt: ctx.now - 5, nextAt: ctx.now - 1 },
      ctx,
    );
    assert.deepEqual(event, {
      type: 'renewal.succeeded',
      level: 'info',
      token: 'a',
      account: 'vo',
      expires_in: 0,
      next_renewal_in: 0,
    });
  });
});
