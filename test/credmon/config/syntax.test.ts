import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CredmonConfigError,
  ExpandError,
  expandMacros,
  expandSelf,
  MacroTable,
  parseCondorBool,
  splitLogicalLines,
} from '../../../src/credmon/config/index.js';

function table(
  entries: Record<string, string>,
  env: Record<string, string> = {},
  subsystem = 'CREDMON_OAUTH',
) {
  const t = new MacroTable({ subsystem, detected: new Map([['FULL_HOSTNAME', 'ap.example.org']]), env });
  for (const [k, v] of Object.entries(entries)) t.set(k, v, 'test:1');
  return t;
}

describe('condor_config line rules', () => {
  it('drops comments and blank lines, trims, keeps a "#" inside a value', () => {
    const lines = splitLogicalLines(
      '# a comment\n\n   A = 1   \n  # indented comment\nB = x # not a comment\r\n',
      'f',
    );
    assert.deepEqual(
      lines.map((l) => [l.text, l.line]),
      [
        ['A = 1', 3],
        ['B = x # not a comment', 5],
      ],
    );
  });

  it('joins "\\" continuation lines, skipping comment lines inside them (the manual\'s examples)', () => {
    const one = splitLogicalLines('A = $(B) \\\n# $(C)\n$(D)\n', 'f');
    const two = splitLogicalLines('A = $(B) \\\n# $(C) \\\n$(D)\n', 'f');
    assert.deepEqual(one, [{ text: 'A = $(B) $(D)', line: 1 }]);
    assert.deepEqual(two, one);
    const admin = splitLogicalLines('ADMIN = a.edu, b.edu, \\\n  c.edu\nNEXT = 1', 'f');
    assert.deepEqual(
      admin.map((l) => [l.text, l.line]),
      [
        ['ADMIN = a.edu, b.edu, c.edu', 1],
        ['NEXT = 1', 3],
      ],
    );
    assert.deepEqual(
      splitLogicalLines('A = x \\', 'f'),
      [{ text: 'A = x', line: 1 }],
      'a "\\" on the last line',
    );
  });

  it('takes "NAME @=TAG" values up to "@TAG", their lines read as HTCondor reads every line', () => {
    const lines = splitLogicalLines(
      'JRD @=end\n  [\n  # dropped\n  a = 1; \\\n  b = 2;\n  ]\n  @end\nX = 2\n',
      'f',
    );
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0]?.heredoc, { name: 'JRD', value: '[\na = 1; b = 2;\n]' });
    assert.equal(lines[1]?.text, 'X = 2');
    assert.equal(lines[1]?.line, 8);
  });

  it('refuses a multi-line value never closed, naming file and line', () => {
    assert.throws(
      () => splitLogicalLines('A = 1\nB @=xx\nfoo\n', '/etc/condor/config.d/10.conf'),
      (err: CredmonConfigError) =>
        err instanceof CredmonConfigError &&
        err.code === 'CONFIG_INVALID' &&
        err.exitCode === 99 &&
        err.message ===
          '/etc/condor/config.d/10.conf:2: the multi-line value "B @=xx" is never closed by a line "@xx"',
    );
  });
});

describe('macro expansion', () => {
  it('expands $(NAME), case-insensitive, late-bound, with defaults that may hold macros', () => {
    const t = table({ A: 'xxx', C: '$(a)', LOG: '/var/log/condor', D: '$(NOPE:$(LOG)/x)', E: '$(NOPE)-1' });
    const ctx = t.context();
    assert.equal(expandMacros('$(C)', ctx), 'xxx');
    t.set('A', 'yyy', 'test:2');
    assert.equal(expandMacros('$(C)', ctx), 'yyy', 'C is bound to $(A), not its value');
    assert.equal(expandMacros('$(D)', ctx), '/var/log/condor/x');
    assert.equal(expandMacros('$(E)', ctx), '-1', 'undefined is empty');
    assert.equal(expandMacros('$(NUMCPUS:4)-1', ctx), '4-1');
    assert.equal(expandMacros('https://$(FULL_HOSTNAME)', ctx), 'https://ap.example.org');
  });

  it('expands $ENV(), $(DOLLAR), and leaves $$(...) and a lone $ alone', () => {
    const t = table({ X: 'x' }, { HOME: '/root' });
    const ctx = t.context();
    assert.equal(expandMacros('$ENV(HOME)/a $ENV(NOPE:dflt) $ENV(NOPE)|', ctx), '/root/a dflt |');
    assert.equal(
      expandMacros('$(DOLLAR)(X) costs $5', ctx),
      '$(X) costs $5',
      '$(DOLLAR) is not expanded again',
    );
    assert.equal(expandMacros('$$(Memory) $(X)', ctx), '$$(Memory) x');
    assert.equal(expandMacros('$(unclosed', ctx), '$(unclosed');
  });

  it('prefers <SUBSYSTEM>.<NAME>', () => {
    const t = table({ 'CREDMON_OAUTH.FOO': 'mine', FOO: 'everyone', 'SCHEDD.BAR': 'theirs', BAR: 'b' });
    assert.equal(t.param('foo'), 'mine');
    assert.equal(t.param('BAR'), 'b');
    assert.equal(table({ FOO: 'x' }, {}, 'OTHER').param('FOO'), 'x');
  });

  it('refuses cycles and unsupported function macros', () => {
    const ctx = table({ A: '$(B)', B: '$(C)', C: '$(A)', F: '$INT(X)' }).context();
    assert.throws(
      () => expandMacros('$(A)', ctx),
      (e: Error) => e instanceof ExpandError && e.message === '$(A) refers to itself: A -> B -> C -> A',
    );
    assert.throws(() => expandMacros('$(F)', ctx), /the function macro \$INT\(\) is not supported/);
  });

  it('bounds the expanded size', () => {
    const entries: Record<string, string> = { L0: 'x'.repeat(1000) };
    for (let i = 1; i <= 12; i++) entries[`L${i}`] = `$(L${i - 1})$(L${i - 1})`;
    assert.throws(() => expandMacros('$(L12)', table(entries).context()), /longer than/);
  });

  it('replaces self references at once with the current raw value (HTCondor\'s "A = $(A)yyy")', () => {
    assert.equal(expandSelf('$(A)yyy', 'A', 'xxx'), 'xxxyyy');
    assert.equal(expandSelf('$(a) $(B)', 'A', undefined), ' $(B)', 'undefined: empty, other macros kept');
    assert.equal(expandSelf('$(A:dflt) z', 'A', undefined), 'dflt z');
  });

  it('param() trims and treats empty as unset', () => {
    const t = table({ EMPTY: '   ', V: ' v ' });
    assert.equal(t.param('EMPTY'), undefined);
    assert.equal(t.param('V'), 'v');
    assert.equal(t.param('NOPE'), undefined);
    assert.equal(t.param('RELEASE_DIR'), '/usr', 'param_info.in defaults');
    assert.equal(t.param('SBIN'), '/usr/sbin');
  });

  it('detects FULL_HOSTNAME, which no file can override, and appends DEFAULT_DOMAIN_NAME to a short one', () => {
    const t = table({ FULL_HOSTNAME: 'evil.example', HOSTNAME: 'x' });
    assert.equal(t.param('FULL_HOSTNAME'), 'ap.example.org');
    const short = new MacroTable({
      subsystem: 'CREDMON_OAUTH',
      detected: new Map([['FULL_HOSTNAME', 'ap1']]),
      env: {},
    });
    assert.equal(short.param('FULL_HOSTNAME'), 'ap1');
    short.set('DEFAULT_DOMAIN_NAME', 'example.org', 'test:1');
    assert.equal(short.param('FULL_HOSTNAME'), 'ap1.example.org');
  });

  it('parses booleans as HTCondor does', () => {
    for (const v of ['true', 'TRUE', 'Yes', 't', '1', '2']) assert.equal(parseCondorBool(v), true, v);
    for (const v of ['false', 'No', 'F', '0']) assert.equal(parseCondorBool(v), false, v);
    for (const v of ['', 'maybe', 'on']) assert.equal(parseCondorBool(v), undefined, v);
  });
});
