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
  it('a JWT whose exp is no time, or whose claims nest 5,000 deep, is TOKEN_INVALID (exit 1), not a crash', async () => {
    const part = (text: string) => Buffer.from(text).toString('base64url');
    const jwt = (claims: string) => `${part('{"alg":"ES256"}')}.${part(claims)}.c2ln`;
    const cases = [
      ['{"iss":"x","exp":1e308}', 'claim exp = 1e+308 is not a time'],
      ['{"iss":"x","exp":9e15}', 'claim exp = 9000000000000000 is not a time'],
      ['{"iss":"x","iat":-1}', 'claim iat = -1 is not a time'],
      ['{"iss":"x","nbf":"soon"}', 'claim nbf = string is not a time'],
    ];
    for (const [claims, why] of cases) {
      const run = await runCli(['inspect', '-'], { input: jwt(claims as string) });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(
        run.stderr,
        `tokenwarden: standard input is not a usable JWT: ${why} (seconds since 1970, at most 253402300799, the end of year 9999)\n`,
      );
    }
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ]) {
      const deep = `{"iss":"x","a":${(open as string).repeat(5000)}1${(close as string).repeat(5000)}}`;
      const run = await runCli(['inspect', '-'], { input: jwt(deep) });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(
        run.stderr,
        'tokenwarden: standard input is not a usable JWT: its claims nest deeper than 64 levels\n',
      );
    }
  });
});
