import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { onSignals } from '../../src/signals/index.js';

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('onSignals', () => {
  it('SIGTERM and SIGINT stop as onStopSignals does; SIGHUP does not stop', async () => {
    const target = new EventEmitter();
    const seen: string[] = [];
    const signals = onSignals({
      target: target as unknown as NodeJS.Process,
      onStop: (s) => seen.push(`stop ${s}`),
      onRepeat: (s) => seen.push(`again ${s}`),
      onReload: () => {
        seen.push('reload');
      },
    });
    target.emit('SIGHUP', 'SIGHUP');
    await signals.reloaded();
    assert.equal(signals.stopping.aborted, false);
    target.emit('SIGTERM', 'SIGTERM');
    target.emit('SIGINT', 'SIGINT');
    assert.equal(signals.stopping.aborted, true);
    assert.equal(signals.stopping.reason, 'SIGTERM');
    assert.equal(signals.exitStatus(), 143);
    target.emit('SIGHUP', 'SIGHUP');
    await signals.reloaded();
    assert.deepEqual(seen, ['reload', 'stop SIGTERM', 'again SIGINT']);
    signals.dispose();
    signals.dispose();
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) assert.equal(target.listenerCount(s), 0, s);
  });

  it('a SIGHUP during a reload runs it once more afterwards, never two at once', async () => {
    const target = new EventEmitter();
    const gates = [deferred(), deferred()];
    let runs = 0;
    let active = 0;
    let most = 0;
    const signals = onSignals({
      target: target as unknown as NodeJS.Process,
      onReload: async () => {
        const gate = gates[runs++];
        active++;
        most = Math.max(most, active);
        await gate?.promise;
        active--;
      },
    });
    target.emit('SIGHUP', 'SIGHUP');
    await tick();
    target.emit('SIGHUP', 'SIGHUP');
    target.emit('SIGHUP', 'SIGHUP');
    target.emit('SIGHUP', 'SIGHUP');
    await tick();
    assert.equal(runs, 1, 'the second run waits for the first');
    gates[0]?.resolve();
    await tick();
    await tick();
    assert.equal(runs, 2, 'signals during the first run give exactly one more');
    gates[1]?.resolve();
    await signals.reloaded();
    assert.equal(runs, 2);
    assert.equal(most, 1);
    target.emit('SIGHUP', 'SIGHUP');
    await signals.reloaded();
    assert.equal(runs, 3, 'a SIGHUP after the reloads finished runs again');
    signals.dispose();
  });

  it('a reload that throws is reported and the next SIGHUP still reloads', async () => {
    const target = new EventEmitter();
    const errors: unknown[] = [];
    let runs = 0;
    const signals = onSignals({
      target: target as unknown as NodeJS.Process,
      onReload: async () => {
        runs++;
        if (runs === 1) throw new Error('bad config');
      },
      onReloadError: (err) => errors.push(err),
    });
    target.emit('SIGHUP', 'SIGHUP');
    await signals.reloaded();
    target.emit('SIGHUP', 'SIGHUP');
    await signals.reloaded();
    assert.equal(runs, 2);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['bad config'],
    );
    signals.dispose();
  });

  it('a queued reload is dropped once a stop signal arrives', async () => {
    const target = new EventEmitter();
    const gate = deferred();
    let runs = 0;
    const signals = onSignals({
      target: target as unknown as NodeJS.Process,
      onReload: async () => {
        runs++;
        await gate.promise;
      },
    });
    target.emit('SIGHUP', 'SIGHUP');
    await tick();
    target.emit('SIGHUP', 'SIGHUP');
    target.emit('SIGTERM', 'SIGTERM');
    gate.resolve();
    await signals.reloaded();
    assert.equal(runs, 1);
    signals.dispose();
  });
});
