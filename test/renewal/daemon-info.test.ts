import assert from 'node:assert/strict';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isTokenwardenError } from '../../src/errors.js';
import {
  type DaemonInfo,
  fetchDaemonSnapshot,
  isProcessAlive,
  readDaemonInfo,
  removeDaemonInfo,
  writeDaemonInfo,
} from '../../src/renewal/daemon-info.js';
import type { StatusSnapshot } from '../../src/web/status-model.js';
import { type DaemonStub, deadPid, serveJson, startDaemonStub } from '../helpers/daemon-stub.js';
import { tempDir } from '../helpers/tmp.js';

const SNAPSHOT: StatusSnapshot = {
  service: 'daemon',
  generatedAt: 1_800_000_000,
  startedAt: 1_799_999_000,
  configFile: '/etc/tokenwarden/config.ini',
  rows: [{ id: 't', group: 'a', path: '/tokens/t', state: 'ok', expiresAt: 1_800_003_600 }],
  groups: [{ name: 'a', kind: 'refresh' }],
  warnings: [],
};

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isTokenwardenError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('daemon.json', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let stub: DaemonStub | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });

  afterEach(async () => {
    await stub?.close();
    stub = undefined;
    await cleanup();
  });

  const info = (extra: Partial<DaemonInfo> = {}): DaemonInfo => ({
    pid: process.pid,
    url: 'http://127.0.0.1:9464/',
    config: '/etc/tokenwarden/config.ini',
    startedAt: 1_800_000_000,
    ...extra,
  });

  it('is written world-readable (no secret in it) and read back', async () => {
    await writeDaemonInfo(dir, info());
    assert.equal((await stat(join(dir, 'daemon.json'))).mode & 0o777, 0o644);
    assert.deepEqual(await readDaemonInfo(dir), info());
    assert.equal(await readDaemonInfo(join(dir, 'elsewhere')), undefined);
    // A daemon started before any renew makes its state directory, private.
    const fresh = join(dir, 'new', 'state');
    await writeDaemonInfo(fresh, info());
    assert.equal((await stat(fresh)).mode & 0o777, 0o700);
    assert.deepEqual(await readDaemonInfo(fresh), info());
  });

  it('is removed only by the daemon that wrote it', async () => {
    await writeDaemonInfo(dir, info({ pid: 4242 }));
    assert.equal(await removeDaemonInfo(dir, 4343), false, 'another daemon wrote it since');
    assert.equal((await readDaemonInfo(dir))?.pid, 4242);
    assert.equal(await removeDaemonInfo(dir, 4242), true);
    assert.equal(await readDaemonInfo(dir), undefined);
    assert.equal(await removeDaemonInfo(dir, 4242), false);
  });

  it('refuses a symlink planted in its place, and anything that is not a daemon.json', async () => {
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify(info()));
    await symlink(elsewhere, join(dir, 'daemon.json'));
    await rejectsWith(readDaemonInfo(dir), 'FILE_UNSAFE', /symbolic link/);
    const cases: Array<[string, RegExp]> = [
      ['not json', /is not a daemon.json: it is not JSON/],
      ['[1]', /not a JSON object/],
      [JSON.stringify({ ...info(), pid: '12' }), /pid: not a process id/],
      [JSON.stringify({ ...info(), pid: 1 }), /pid: not a process id/],
      [JSON.stringify({ ...info(), url: 'file:///etc/passwd/' }), /url: not an http\(s\) URL/],
      [JSON.stringify({ ...info(), url: 'http://u:p@127.0.0.1:1/' }), /url: not an http\(s\) URL/],
      [
        JSON.stringify({ ...info(), url: 'http://127.0.0.1:1/api' }),
        /url: not an http\(s\) URL ending in \//,
      ],
      [JSON.stringify({ ...info(), config: 'config.ini' }), /config: not an absolute path/],
      [JSON.stringify({ ...info(), startedAt: null }), /startedAt: not a time/],
      [' '.repeat(5000), /larger than 4096 bytes/],
    ];
    for (const [text, message] of cases) {
      const sub = join(dir, `case-${cases.findIndex((c) => c[0] === text)}`);
      await mkdir(sub);
      await writeFile(join(sub, 'daemon.json'), text);
      await rejectsWith(readDaemonInfo(sub), 'STORE_INVALID', message);
    }
    await assert.rejects(writeDaemonInfo(dir, info({ url: 'http://x/?q=1' })), /daemon.json: url/);
  });

  it('tells a live process from one that has exited', async () => {
    assert.equal(isProcessAlive(process.pid), true);
    assert.equal(isProcessAlive(await deadPid()), false);
  });

  it('fetches the snapshot of a running daemon, and refuses what is not one', async () => {
    stub = await startDaemonStub(serveJson(SNAPSHOT));
    assert.deepEqual(await fetchDaemonSnapshot({ url: stub.url }, { timeoutMs: 5_000 }), SNAPSHOT);
    assert.deepEqual(stub.requests, ['GET /api/status']);
    await stub.close();

    stub = await startDaemonStub(serveJson({ ...SNAPSHOT, rows: [{ id: 't', group: 'a', state: 'great' }] }));
    await rejectsWith(
      fetchDaemonSnapshot({ url: stub.url }, { timeoutMs: 5_000 }),
      'STORE_INVALID',
      /answered no status snapshot: rows\[0\]: unknown state/,
    );
    await stub.close();

    stub = await startDaemonStub((_req, res) => res.writeHead(503).end());
    await rejectsWith(
      fetchDaemonSnapshot({ url: stub.url }, { timeoutMs: 5_000 }),
      'STORE_INVALID',
      /HTTP 503/,
    );
    const url = stub.url;
    await stub.close();
    stub = undefined;
    await rejectsWith(
      fetchDaemonSnapshot({ url }, { timeoutMs: 5_000 }),
      'NETWORK',
      /cannot reach the daemon/,
    );

    // A daemon that accepts the request and never answers is given up at the deadline.
    stub = await startDaemonStub(() => undefined);
    await rejectsWith(
      fetchDaemonSnapshot({ url: stub.url }, { timeoutMs: 200 }),
      'TIMEOUT',
      /did not answer within 200 ms/,
    );
  });

  it('writes nothing but its own fields', async () => {
    await writeDaemonInfo(dir, { ...info(), secret: 'x' } as DaemonInfo);
    assert.deepEqual(Object.keys(JSON.parse(await readFile(join(dir, 'daemon.json'), 'utf8'))), [
      'pid',
      'url',
      'config',
      'startedAt',
    ]);
  });
});
