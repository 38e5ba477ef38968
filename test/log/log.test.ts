import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { agentLogger, formatLogLine } from '../../src/agent/log.js';
import { redact } from '../../src/cli/redact.js';
import {
  createLog,
  fileSink,
  formatEvent,
  journaldSink,
  type LogRecord,
  NO_LOG,
  SecretValues,
  stderrIsJournal,
  stderrSink,
} from '../../src/log/index.js';
import { secret } from '../../src/secret.js';
import { tempDir } from '../helpers/tmp.js';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
const at = Date.parse('2026-12-01T20:15:04.123Z');

function collector() {
  const lines: string[] = [];
  return { lines, write: (text: string) => lines.push(text) };
}

describe('formatEvent', () => {
  it('prints the type and the fields in order, leaves out undefined ones, quotes odd values', () => {
    const line = formatEvent({
      type: 'renewal.failed',
      level: 'warning',
      token: 'vo-read',
      account: 'vo',
      code: 'NETWORK',
      message: 'connect "refused"\nnext line',
      retry_in: undefined,
    });
    assert.equal(
      line,
      'renewal.failed token=vo-read account=vo code=NETWORK message="connect \\"refused\\"\\nnext line"',
    );
  });

  it('always cuts JWT-shaped text, with the same filter as the CLI', () => {
    const line = formatEvent({
      type: 'account.needs-login',
      level: 'error',
      account: 'vo',
      message: `got ${JWT}`,
    });
    assert.equal(line, 'account.needs-login account=vo message="got [REDACTED-JWT]"');
    assert.equal(redact(`x ${JWT} y`), 'x [REDACTED-JWT] y');
  });
});

describe('createLog', () => {
  it('formats once and hands the same redacted line to every sink, framed per sink', () => {
    const human = collector();
    const journal = collector();
    const log = createLog([stderrSink(human), journaldSink(journal)], { now: () => at });
    log.emit({ type: 'renewal.succeeded', level: 'info', token: 't', account: 'vo', expires_in: 3600 });
    log.emit({
      type: 'renewal.failed',
      level: 'warning',
      token: 't',
      account: 'vo',
      code: 'X',
      message: 'm',
    });
    log.emit({
      type: 'daemon.reload-refused',
      level: 'error',
      config: '/c.ini',
      code: 'CONFIG_INVALID',
      message: 'm',
    });
    assert.deepEqual(human.lines, [
      '2026-12-01T20:15:04.123Z renewal.succeeded token=t account=vo expires_in=3600\n',
      '2026-12-01T20:15:04.123Z renewal.failed token=t account=vo code=X message=m\n',
      '2026-12-01T20:15:04.123Z daemon.reload-refused config=/c.ini code=CONFIG_INVALID message=m\n',
    ]);
    assert.deepEqual(journal.lines, [
      '<6>renewal.succeeded token=t account=vo expires_in=3600\n',
      '<4>renewal.failed token=t account=vo code=X message=m\n',
      '<3>daemon.reload-refused config=/c.ini code=CONFIG_INVALID message=m\n',
    ]);
  });

  it('cuts every registered secret, raw and encoded, from every field', () => {
    const out = collector();
    const log = createLog([journaldSink(out)]);
    log.addSecret('opaque-refresh/token+1');
    log.addSecret(secret('s3cr3t"pw'));
    log.emit({
      type: 'renewal.failed',
      level: 'warning',
      token: 't',
      account: 'vo',
      code: 'OAUTH_ERROR',
      message: `refresh_token=${encodeURIComponent('opaque-refresh/token+1')} raw opaque-refresh/token+1 pw s3cr3t"pw`,
    });
    assert.deepEqual(out.lines, [
      '<4>renewal.failed token=t account=vo code=OAUTH_ERROR message="refresh_token=[REDACTED] raw [REDACTED] pw [REDACTED]"\n',
    ]);
  });

  it('lets a registered secret go when its holder is done, counting holders of one value', () => {
    const out = collector();
    const log = createLog([journaldSink(out)]);
    const line = (message: string) =>
      log.emit({ type: 'renewal.failed', level: 'warning', token: 't', account: 'vo', code: 'X', message });
    const first = log.addSecret('shared-value-1');
    const second = log.addSecret('shared-value-1');
    first();
    first(); // idempotent: does not take the second holder's registration
    line('a shared-value-1');
    second();
    line('b shared-value-1');
    assert.deepEqual(out.lines, [
      '<4>renewal.failed token=t account=vo code=X message="a [REDACTED]"\n',
      '<4>renewal.failed token=t account=vo code=X message="b shared-value-1"\n',
    ]);
  });

  it('keeps no form of a secret once every registration of it ends (a renewal per token, for ever)', () => {
    const values = new SecretValues();
    values.add('client-secret-kept-for-the-process');
    const base = values.size;
    for (let i = 0; i < 5000; i++) {
      const forgetRefresh = values.add(`refresh/token+${i}`);
      const forgetAccess = values.add(`access-token-${i}`);
      // In flight: the value and its encoded forms are cut, longest first.
      assert.equal(
        values.redact(`sent refresh_token=${encodeURIComponent(`refresh/token+${i}`)} got access-token-${i}`),
        'sent refresh_token=[REDACTED] got [REDACTED]',
      );
      forgetAccess();
      forgetRefresh();
    }
    assert.equal(values.size, base);
    assert.equal(values.redact('refresh/token+7 access-token-7'), 'refresh/token+7 access-token-7');
    assert.equal(values.redact('x client-secret-kept-for-the-process'), 'x [REDACTED]');
  });

  it('drops events below its level; debug is off by default', () => {
    const out = collector();
    const quiet = createLog([journaldSink(out)]);
    quiet.emit({
      type: 'http.request',
      level: 'debug',
      method: 'GET',
      route: '/metrics',
      status: 200,
      ms: 3,
    });
    const chatty = createLog([journaldSink(out)], { level: 'debug' });
    chatty.emit({
      type: 'http.request',
      level: 'debug',
      method: 'GET',
      route: '/metrics',
      status: 200,
      ms: 3,
    });
    const errorsOnly = createLog([journaldSink(out)], { level: 'error' });
    errorsOnly.emit({ type: 'daemon.stopped', level: 'info', reason: 'SIGTERM' });
    assert.deepEqual(out.lines, ['<7>http.request method=GET route=/metrics status=200 ms=3\n']);
  });

  it('a sink that throws loses its line only; close is idempotent and later events are dropped', () => {
    const out = collector();
    let closes = 0;
    const broken = {
      write(_: LogRecord) {
        throw new Error('EPIPE');
      },
      close() {
        closes++;
      },
    };
    const log = createLog([broken, journaldSink(out)]);
    log.emit({ type: 'daemon.stopping', level: 'info', reason: 'SIGTERM', in_flight: 2 });
    log.close();
    log.close();
    log.emit({ type: 'daemon.stopped', level: 'info', reason: 'SIGTERM' });
    assert.deepEqual(out.lines, ['<6>daemon.stopping reason=SIGTERM in_flight=2\n']);
    assert.equal(closes, 1);
  });

  it('NO_LOG takes every call and writes nothing', () => {
    NO_LOG.emit({ type: 'daemon.stopped', level: 'info', reason: 'x' });
    NO_LOG.addSecret('abcdefgh');
    NO_LOG.close();
    assert.ok(Object.isFrozen(NO_LOG));
  });
});

describe('the agent on the shared log', () => {
  it('writes the lines formatLogLine always wrote, with levels for journald', () => {
    const human = collector();
    const journal = collector();
    const log = agentLogger(createLog([stderrSink(human), journaldSink(journal)], { now: () => at }));
    const fields = { account: 'vo', code: 'NEEDS_LOGIN', oauth_error: undefined, message: `no ${JWT}` };
    log('needs-login', fields);
    log('start', { socket: '/run/user/1/tokenwarden/agent.sock', pid: 42 });
    assert.deepEqual(human.lines, [
      formatLogLine(at, 'needs-login', fields),
      formatLogLine(at, 'start', { socket: '/run/user/1/tokenwarden/agent.sock', pid: 42 }),
    ]);
    assert.equal(
      human.lines[0],
      '2026-12-01T20:15:04.123Z needs-login account=vo code=NEEDS_LOGIN message="no [REDACTED-JWT]"\n',
    );
    assert.deepEqual(journal.lines, [
      '<3>needs-login account=vo code=NEEDS_LOGIN message="no [REDACTED-JWT]"\n',
      '<6>start socket=/run/user/1/tokenwarden/agent.sock pid=42\n',
    ]);
  });
});

describe('fileSink', () => {
  it('appends timestamped lines to a 0600 file and rotates it once at its cap', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'daemon.log');
      await writeFile(path, 'earlier line\n', { mode: 0o600 });
      const log = createLog([fileSink(path, { maxBytes: 400 })], { now: () => at });
      for (let i = 0; i < 30; i++)
        log.emit({ type: 'daemon.reloaded', level: 'info', config: '/c.ini', tokens: i });
      log.close();
      const now = await stat(path);
      const old = await stat(`${path}.1`);
      assert.ok(now.size <= 400 && old.size <= 400, `${now.size} and ${old.size} bytes`);
      assert.equal(now.mode & 0o777, 0o600);
      assert.equal(old.mode & 0o777, 0o600);
      assert.match(
        await readFile(path, 'utf8'),
        /^2026-12-01T20:15:04\.123Z daemon\.reloaded config=\/c\.ini tokens=29\n$/m,
      );
    } finally {
      await cleanup();
    }
  });

  it('refuses a symlink planted where the log goes', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'daemon.log');
      await writeFile(join(dir, 'elsewhere'), '');
      await symlink(join(dir, 'elsewhere'), path);
      assert.throws(() => fileSink(path), { code: 'ELOOP' });
    } finally {
      await cleanup();
    }
  });
});

describe('stderrIsJournal', () => {
  it('is true only when JOURNAL_STREAM names the very stream (device:inode)', async () => {
    const { dir, cleanup } = await tempDir();
    const fd = openSync(join(dir, 'stream'), 'w');
    try {
      const st = fstatSync(fd, { bigint: true });
      assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd), true);
      assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, fd), false);
      assert.equal(stderrIsJournal({}, fd), false);
    } finally {
      closeSync(fd);
      await cleanup();
    }
  });
});
