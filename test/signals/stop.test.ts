import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { onStopSignals } from '../../src/signals/index.js';

describe('onStopSignals', () => {
  it('aborts at the first signal, reports repeats, and gives 128 + the signal number', () => {
    const target = new EventEmitter();
    const seen: string[] = [];
    const stop = onStopSignals({
      target: target as unknown as NodeJS.Process,
      onStop: (s) => seen.push(`stop ${s}`),
      onRepeat: (s) => seen.push(`again ${s}`),
    });
    assert.equal(stop.signal.aborted, false);
    assert.equal(stop.exitStatus(), undefined);
    target.emit('SIGINT', 'SIGINT');
    target.emit('SIGTERM', 'SIGTERM');
    assert.equal(stop.signal.aborted, true);
    assert.equal(stop.signal.reason, 'SIGINT');
    assert.equal(stop.received, 'SIGINT');
    assert.equal(stop.exitStatus(), 130);
    assert.deepEqual(seen, ['stop SIGINT', 'again SIGTERM']);
    stop.dispose();
    stop.dispose();
    assert.equal(target.listenerCount('SIGINT'), 0);
    assert.equal(target.listenerCount('SIGTERM'), 0);
  });

  it('listens to the signals it is given, SIGHUP included', () => {
    const target = new EventEmitter();
    const seen: string[] = [];
    const stop = onStopSignals({
      target: target as unknown as NodeJS.Process,
      signals: ['SIGTERM', 'SIGINT', 'SIGHUP'],
      onStop: (s) => seen.push(s),
    });
    target.emit('SIGHUP', 'SIGHUP');
    assert.deepEqual(seen, ['SIGHUP']);
    assert.equal(stop.exitStatus(), 129);
    stop.dispose();
    assert.equal(target.listenerCount('SIGHUP'), 0);
  });

  it('SIGTERM gives 143', () => {
    const target = new EventEmitter();
    const stop = onStopSignals({ target: target as unknown as NodeJS.Process });
    target.emit('SIGTERM', 'SIGTERM');
    assert.equal(stop.exitStatus(), 143);
    stop.dispose();
  });
});
