import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT_CODES, EXIT_STATUSES, exitStatusHelp } from '../../src/cli/exit.js';
import { runCli } from '../helpers/cli.js';

describe('exit statuses', () => {
  it('every status an error can give is explained, and nothing else is', () => {
    const used = new Set([0, ...Object.values(EXIT_CODES)]);
    assert.deepEqual(
      EXIT_STATUSES.map((e) => e.status),
      [...used].sort((a, b) => a - b),
    );
  });

  it('the main help and every command help end with the same exit status table', async () => {
    const block = `${exitStatusHelp().join('\n')}\n`;
    assert.match(block, /^Exit status:\n {2}0 {3}success\n/);
    for (const args of [['--help'], ['renew', '--help'], ['setup', '--help'], ['inspect', '--help']]) {
      const run = await runCli(args);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.stdout.endsWith(`\n${block}`), `${args.join(' ')}:\n${run.stdout}`);
    }
  });
});
