import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

describe('demo', () => {
  it('runs end to end on loopback and leaks no token', async () => {
    const run = await runCli(['demo'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /renew: 4 renewed, 0 still fresh, 0 failed/);
    assert.match(run.stdout, /renew: 0 renewed, 4 still fresh, 0 failed/);
    assert.match(run.stdout, /TOKEN\s+ACCOUNT\s+STATE/);
    assert.match(run.stdout, /audience:\s+https:\/\/storage\.example\.org/);
    assert.doesNotMatch(
      run.stdout + run.stderr,
      /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./,
      'no JWT printed',
    );
  });
});
