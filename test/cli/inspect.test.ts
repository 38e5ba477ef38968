import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('inspect', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });

  after(async () => {
    await cleanup();
  });

  it('says where input that is not a JWT came from, and what was expected, without echoing it', async () => {
    const file = join(dir, 'passwd');
    await writeFile(file, 'root:x:0:0:root:/root:/bin/bash\n');
    const expected = 'expected three base64url parts separated by dots: header, JSON claims, signature';
    const cases = [
      { args: ['inspect', file], input: '', from: `file ${file} is not a JWT` },
      { args: ['inspect', '-'], input: 'root:x:0:0\n', from: 'standard input is not a JWT' },
      { args: ['inspect', '-'], input: '\n', from: 'standard input is empty, not a JWT' },
      { args: ['inspect', 'not.a.jwt'], input: '', from: 'the command-line argument is not a JWT' },
    ];
    for (const { args, input, from } of cases) {
      const run = await runCli(args, { input });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.split('\n')[0], `tokenwarden: ${from} (${expected})`);
      assert.doesNotMatch(run.stderr, /root:x|\n\s+at /);
      assert.equal(run.stdout, '');
    }
  });

  it('refuses a device or a huge file instead of reading it forever', async () => {
    const big = join(dir, 'big.log');
    await writeFile(big, 'x'.repeat(200_000));
    for (const [path, why] of [
      ['/dev/zero', 'not a regular file'],
      [big, 'larger than 65536 bytes'],
    ]) {
      const run = await runCli(['inspect', path as string], { timeoutMs: 15_000 });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.split('\n')[0], `tokenwarden: file ${path} is not a token file (${why})`);
    }
  });
});
