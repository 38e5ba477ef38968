import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatusSnapshot } from '../../src/web/status-model.js';
import { findLeaks, transcript } from '../helpers/cli.js';
import { type DaemonProcess, startDaemon } from '../helpers/daemon.js';
import { collectSecrets } from '../helpers/secrets.js';
import { createWorldWithAccount, refreshAccount, tokenSection, type World } from '../helpers/world.js';

const DAY = 24 * 3600;
/** Short-lived access tokens, so the daemon renews (and refreshes) several times within a test. */
const TTL = 8;
/** The log line of the warning, whole (`[^\n]*`: one event is one line). */
const EXPIRING = /account\.refresh-token-expiring account=vo [^\n]*/g;

interface Running {
  world: World;
  daemon: DaemonProcess;
  url: string;
}

/** A daemon renewing two tokens of account vo against a test issuer started with `options`. */
async function run(options: Parameters<typeof createWorldWithAccount>[1]): Promise<Running> {
  const world = await createWorldWithAccount('vo', { accessTokenTtl: TTL, ...options });
  await world.writeConfig(
    `${refreshAccount(world, 'vo')}${tokenSection(world, 'a', 'vo', { scope: 'storage.read:/', min_lifetime: 2 })}` +
      `${tokenSection(world, 'b', 'vo', { scope: 'compute.read', min_lifetime: 2 })}`,
  );
  const daemon = startDaemon(world);
  const url = await daemon.url();
  await daemon.waitFor(/renewal\.succeeded token=a /);
  await daemon.waitFor(/renewal\.succeeded token=b /);
  return { world, daemon, url };
}

/** Stops the daemon and checks that no secret of the world showed in anything it printed or served. */
async function stop(r: Running | undefined): Promise<void> {
  if (r === undefined) return;
  r.daemon.child.kill('SIGTERM');
  const exit = await r.daemon.exited;
  const leaks = findLeaks(await collectSecrets(r.world));
  await r.world.close();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.deepEqual(leaks, [], 'a secret appeared in what the daemon printed or served');
}

async function served(r: Running, path: string, accept = '*/*'): Promise<string> {
  const response = await fetch(new URL(path, r.url), { headers: { accept } });
  assert.equal(response.status, 200, path);
  const text = await response.text();
  // Kept for the leak check: what the daemon serves must hold no secret either.
  transcript.push(text);
  return text;
}

async function snapshot(r: Running): Promise<StatusSnapshot> {
  return JSON.parse(await served(r, 'api/status')) as StatusSnapshot;
}

/**
 * The refresh token's expiry, end to end: the test issuer says `refresh_expires_in` as Keycloak does,
 * the daemon keeps it per account from its refresh grants, and its status page, /api/status and log
 * warn when it is within 7 days; the log once, however many renewals follow.
 */
describe('daemon: a refresh token that expires within 7 days', { timeout: 120_000 }, () => {
  let r: Running | undefined;
  before(async () => {
    r = await run({ refreshExpiresIn: true, refreshTokenTtl: 3 * DAY });
  });
  after(() => stop(r));

  it('shows the expiry and warns of it on /api/status and the status page', async () => {
    const running = r as Running;
    const snap = await snapshot(running);
    const vo = snap.groups.find((g) => g.name === 'vo');
    const expected = Date.now() / 1000 + 3 * DAY;
    assert.ok(vo?.refreshTokenExpiresAt !== undefined, 'the group has a refresh token expiry');
    assert.ok(
      Math.abs(vo.refreshTokenExpiresAt - expected) < 120,
      `${vo.refreshTokenExpiresAt} ≈ ${expected}`,
    );
    const warning = snap.warnings.find((w) => w.kind === 'refresh-token-expiring');
    assert.equal(warning?.group, 'vo');
    assert.match(warning?.message ?? '', /tokenwarden setup vo/);
    const page = await served(running, '', 'text/html');
    assert.match(page, /data-hook="refresh-token-expires"/);
    assert.match(page, /data-hook="warnings"[\s\S]*The refresh token of vo expires in (2d 23h|3d 00h)/);
  });

  it('logs it once, not at every renewal', async () => {
    const running = r as Running;
    // Two more renewals of each token (each a refresh grant, each rotating the refresh token).
    const from = running.daemon.stderr().length;
    await running.daemon.waitFor(/renewal\.succeeded token=a [\s\S]*renewal\.succeeded token=a /, from);
    await running.daemon.waitFor(/renewal\.succeeded token=b [\s\S]*renewal\.succeeded token=b /, from);
    const log = running.daemon.stderr();
    const lines = log.match(EXPIRING) ?? [];
    assert.equal(lines.length, 1, log);
    const line = lines[0] ?? '';
    assert.match(line, / expires_in=\d+ /);
    const at = /expires_at=(\S+)/.exec(line)?.[1] ?? '';
    assert.ok(Math.abs(Date.parse(at) / 1000 - (Date.now() / 1000 + 3 * DAY)) < 120, line);
    assert.match(line, /hint="log in again before then; run: tokenwarden setup vo --config \S+"/);
  });
});

describe('daemon: refresh tokens that do not expire soon, or say nothing', { timeout: 120_000 }, () => {
  let thirty: Running | undefined;
  let silent: Running | undefined;
  before(async () => {
    thirty = await run({ refreshExpiresIn: true, refreshTokenTtl: 30 * DAY });
    silent = await run({ refreshTokenTtl: 3 * DAY });
  });
  after(async () => {
    try {
      await stop(thirty);
    } finally {
      await stop(silent);
    }
  });

  it('shows an expiry 30 days away without a warning', async () => {
    const running = thirty as Running;
    const snap = await snapshot(running);
    const vo = snap.groups.find((g) => g.name === 'vo');
    const expected = Date.now() / 1000 + 30 * DAY;
    assert.ok(Math.abs((vo?.refreshTokenExpiresAt ?? 0) - expected) < 120, String(vo?.refreshTokenExpiresAt));
    assert.deepEqual(
      snap.warnings.filter((w) => w.kind === 'refresh-token-expiring'),
      [],
    );
    assert.doesNotMatch(running.daemon.stderr(), EXPIRING);
  });

  it('knows nothing of an opaque refresh token from an issuer that says nothing, and so warns of nothing', async () => {
    const running = silent as Running;
    const snap = await snapshot(running);
    assert.equal(snap.groups.find((g) => g.name === 'vo')?.refreshTokenExpiresAt, undefined);
    assert.deepEqual(
      snap.warnings.filter((w) => w.kind === 'refresh-token-expiring'),
      [],
    );
    assert.doesNotMatch(await served(running, '', 'text/html'), /data-hook="refresh-token-expires"/);
    assert.doesNotMatch(running.daemon.stderr(), EXPIRING);
  });
});
