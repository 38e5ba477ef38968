import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, editDistance } from '../../src/cli/args.js';
import { runCli } from '../helpers/cli.js';

describe('did-you-mean', () => {
  it('edit distance counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('renew', 'renew'), 0);
    assert.equal(editDistance('renw', 'renew'), 1);
    assert.equal(editDistance('forse', 'force'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('suggests a close word or the one word it starts, nothing for a word far from all', () => {
    const commands = ['setup', 'renew', 'status', 'inspect', 'import-oidc-agent'];
    assert.equal(closest('renw', commands), 'renew');
    assert.equal(closest('stats', commands), 'status');
    assert.equal(closest('imp', commands), 'import-oidc-agent');
    assert.equal(closest('xyzzy', commands), undefined);
    assert.equal(closest('s', commands), undefined);
  });
});

describe('command-line mistakes through the CLI', () => {
  const cases: Array<[string[], string]> = [
    [
      ['renw'],
      'tokenwarden: unknown command "renw"; did you mean renew?\n  run `tokenwarden --help` for the list of commands\n',
    ],
    [
      ['renew', '--forse'],
      'tokenwarden: renew: unknown option --forse; did you mean --force?\n  run `tokenwarden renew --help`\n',
    ],
    [['renew', '-x'], 'tokenwarden: renew: unknown option -x\n  run `tokenwarden renew --help`\n'],
    [
      ['renew', '--config'],
      'tokenwarden: renew: --config needs a value (PATH)\n  run `tokenwarden renew --help`\n',
    ],
    [
      ['renew', '--config', '--json'],
      'tokenwarden: renew: --config needs a value (PATH), not the option --json\n  run `tokenwarden renew --help`\n',
    ],
    [
      ['status', 'extra'],
      'tokenwarden: status takes no arguments, only options (got "extra")\n  run `tokenwarden status --help`\n',
    ],
    // A negative number is a value, so the command's own check names the option and its range.
    [['test-issuer', '--port', '-5'], 'tokenwarden: --port "-5": give a whole number from 0 to 65535\n'],
    [
      ['setup', 'x', '--issuer', 'http://127.0.0.1:1', '--config', '/nonexistent/c.ini', '--timeout', '-5'],
      'tokenwarden: --timeout "-5": give a number of seconds, more than 0 and at most 2000000\n',
    ],
    // Checked before the config is read: a bad value is named even where no config exists.
    [
      ['renew', '--config', '/nonexistent/c.ini', '--timeout', '-5'],
      'tokenwarden: --timeout "-5": give a number of seconds, more than 0 and at most 2000000\n',
    ],
    // Checked before the account is looked up or a password asked for.
    [
      ['add', 'vo', '--config', '/nonexistent/c.ini', '--lifetime', '-5'],
      'tokenwarden: --lifetime "-5": give a number of seconds, 0 and at most 315360000\n',
    ],
  ];
  for (const [args, stderr] of cases) {
    it(`tokenwarden ${args.join(' ')}`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, stderr);
      assert.equal(run.stdout, '');
    });
  }

  it('--help wins over a mistake elsewhere on the line', async () => {
    const run = await runCli(['renew', '--forse', '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Usage: tokenwarden renew/);
  });
});
