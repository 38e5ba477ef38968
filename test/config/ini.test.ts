import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getOption, type IniDocument, type IniSection, parseIni } from '../../src/config/index.js';

const FILE = '/etc/tokenwarden/config.ini';

function section(doc: IniDocument, name: string): IniSection {
  const found = doc.sections.find((s) => s.name === name);
  assert.ok(found, `no section [${name}]`);
  return found;
}

/** Every option visible from a section (own and inherited), interpolated, as configparser's `dict(c[s])`. */
function values(doc: IniDocument, name: string): Record<string, string> {
  const s = section(doc, name);
  const out: Record<string, string> = {};
  for (const key of new Set([...s.entries.keys(), ...doc.defaults.entries.keys()])) {
    out[key] = getOption(doc, s, key)?.value as string;
  }
  return out;
}

describe('parseIni: Python configparser semantics', () => {
  // The expected values were produced by Python 3.11's configparser.ConfigParser() on this text.
  const text = `# comment
; another
[DEFAULT]
Base = /etc/osg
pct = 50%%
path = %(base)s/tokens/%(name)s.token

[token a]
name = alpha
Token_Path : %(path)s
scope = storage.read:/
  storage.create:/

  # not part of it
    compute.read


url: https://x.example:8443/token
inline = 1 # not a comment
  key with spaces   =   spaced value
[token A]
name = upper
[DEFAULT]
more = yes
`;
  const doc = parseIni(text, FILE);

  it('keeps sections in file order, case-sensitive, and [DEFAULT] apart', () => {
    assert.equal(doc.file, FILE);
    assert.deepEqual(
      doc.sections.map((s) => [s.name, s.line]),
      [
        ['token a', 8],
        ['token A', 21],
      ],
    );
    assert.equal(doc.defaults.name, 'DEFAULT');
    assert.equal(doc.defaults.line, 3);
    assert.deepEqual(
      [...doc.defaults.entries.keys()],
      ['base', 'pct', 'path', 'more'],
      'both [DEFAULT] blocks',
    );
  });

  it('reads values as configparser does: DEFAULT inheritance, interpolation, continuation lines, comments', () => {
    assert.deepEqual(values(doc, 'token a'), {
      name: 'alpha',
      token_path: '/etc/osg/tokens/alpha.token',
      scope: 'storage.read:/\nstorage.create:/\n\ncompute.read',
      url: 'https://x.example:8443/token',
      inline: '1 # not a comment\nkey with spaces   =   spaced value',
      base: '/etc/osg',
      pct: '50%',
      path: '/etc/osg/tokens/alpha.token',
      more: 'yes',
    });
    assert.deepEqual(values(doc, 'token A'), {
      name: 'upper',
      base: '/etc/osg',
      pct: '50%',
      path: '/etc/osg/tokens/upper.token',
      more: 'yes',
    });
  });

  it('looks option names up case-insensitively and keeps the line each was defined on', () => {
    const a = section(doc, 'token a');
    assert.deepEqual(getOption(doc, a, 'TOKEN_PATH'), {
      name: 'token_path',
      value: '/etc/osg/tokens/alpha.token',
      line: 10,
      inherited: false,
    });
    assert.deepEqual(getOption(doc, a, 'Base'), {
      name: 'base',
      value: '/etc/osg',
      line: 4,
      inherited: true,
    });
    assert.equal(getOption(doc, a, 'missing'), undefined);
    assert.equal(a.entries.get('token_path')?.raw, '%(path)s');
  });

  it('interpolates lazily, in the context of the section read from', () => {
    // configparser fails the same way: [DEFAULT] itself has no `name`.
    assert.throws(() => getOption(doc, doc.defaults, 'path'), {
      code: 'CONFIG_INVALID',
      message:
        `${FILE} line 6: Config for [DEFAULT]: option path: bad interpolation: refers to option "name" ` +
        'that neither [DEFAULT] nor [DEFAULT] sets',
    });
    assert.equal(getOption(doc, doc.defaults, 'pct')?.value, '50%');
  });

  it('lets a section override a [DEFAULT] variable, follows chains, and lowercases %(NAME)s', () => {
    const d = parseIni('[DEFAULT]\na = %(B)s/x\nb = default\n[s]\nb = own %%(literal)\nc = %(a)s!\n', FILE);
    const s = section(d, 's');
    assert.equal(getOption(d, s, 'c')?.value, 'own %(literal)/x!');
    assert.equal(getOption(d, d.defaults, 'a')?.value, 'default/x');
  });

  it('strips whitespace around keys and values, splits at the first = or :', () => {
    const d = parseIni('[s]\n   spaced key   =   v  \nurl = http://h:1/p?a=b\nx: a = b\n', FILE);
    assert.deepEqual(values(d, 's'), { 'spaced key': 'v', url: 'http://h:1/p?a=b', x: 'a = b' });
  });

  it('accepts CRLF line endings and a byte order mark', () => {
    const d = parseIni('\uFEFF[s]\r\nk = v\r\n  w\r\n', FILE);
    assert.equal(getOption(d, section(d, 's'), 'k')?.value, 'v\nw');
  });

  it('gives an empty document for empty text', () => {
    const d = parseIni('', FILE);
    assert.deepEqual(d.sections, []);
    assert.equal(d.defaults.line, 0);
    assert.equal(d.defaults.entries.size, 0);
  });
});

describe('parseIni: errors name the file and line', () => {
  it('duplicate section', () => {
    assert.throws(() => parseIni('[token t]\na = 1\n\n[token t]\n', FILE), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 4: duplicate section [token t] (first at line 1)`,
    });
  });

  it('duplicate option, in any case', () => {
    assert.throws(() => parseIni('[token t]\nscope = a\nSCOPE = b\n', FILE), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 3: Config for [token t]: option scope is set twice (first at line 2)`,
    });
    assert.throws(() => parseIni('[DEFAULT]\nx = 1\n[DEFAULT]\nx = 2\n', FILE), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 4: Config for [DEFAULT]: option x is set twice (first at line 2)`,
    });
  });

  it('option before any section header', () => {
    assert.throws(() => parseIni('# header comment\n\naccount = a\n[token t]\n', FILE), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 3: option before any section header`,
      hint: 'start the file with a [DEFAULT], [account NAME] or [token NAME] header',
    });
  });

  it('malformed line, without echoing it (it may be a piece of a secret)', () => {
    const err = (() => {
      try {
        parseIni('[account a]\nclient_secret = first-half\nsecond-half-of-secret\n', FILE);
      } catch (e) {
        return e as Error & { code: string };
      }
      assert.fail('no error');
    })();
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(
      err.message,
      `${FILE} line 3: Config for [account a]: not a section header, a \`key = value\` or \`key: value\` line, or a comment`,
    );
    assert.doesNotMatch(err.message, /second-half/);
    assert.throws(() => parseIni('[s]\n= value\n', FILE), { code: 'CONFIG_INVALID', message: /line 2: / });
  });

  it('a lone %', () => {
    const d = parseIni('[s]\nscope = 100%\n', FILE);
    assert.throws(() => getOption(d, section(d, 's'), 'scope'), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 2: Config for [s]: option scope: bad interpolation: '%' must be followed by '%' or '('; write %% for a literal %`,
    });
  });

  it('a malformed %( reference', () => {
    const d = parseIni('[s]\nv = %(name)d\n', FILE);
    assert.throws(() => getOption(d, section(d, 's'), 'v'), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 2: Config for [s]: option v: bad interpolation: a reference is written %(name)s; write %% for a literal %`,
    });
  });

  it('a reference to an option nobody sets, naming the line that holds it', () => {
    const d = parseIni('[DEFAULT]\ndir = %(nope)s/x\n[s]\npath = %(dir)s\n', FILE);
    assert.throws(() => getOption(d, section(d, 's'), 'path'), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 2: Config for [s]: option path, through option dir: bad interpolation: refers to option "nope" that neither [s] nor [DEFAULT] sets`,
    });
  });

  it('a reference loop stops at depth 10, like configparser', () => {
    const d = parseIni('[s]\na = %(b)s\nb = %(a)s\n', FILE);
    assert.throws(() => getOption(d, section(d, 's'), 'a'), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 2: Config for [s]: option a: interpolation nested more than 10 levels deep (a loop of %(name)s?)`,
    });
    // Python: a chain of 11 options reads, a chain of 12 raises InterpolationDepthError.
    const chain = (n: number) =>
      parseIni(
        `[s]\n${Array.from({ length: n }, (_, i) => `v${i} = ${i === n - 1 ? 'end' : `%(v${i + 1})s`}`).join('\n')}\n`,
        FILE,
      );
    const ok = chain(11);
    assert.equal(getOption(ok, section(ok, 's'), 'v0')?.value, 'end');
    const deep = chain(12);
    assert.throws(() => getOption(deep, section(deep, 's'), 'v0'), {
      code: 'CONFIG_INVALID',
      message: `${FILE} line 12: Config for [s]: option v0, through option v10: interpolation nested more than 10 levels deep (a loop of %(name)s?)`,
    });
  });

  it('says nothing of a secret value when asked to', () => {
    const d = parseIni('[account a]\nclient_secret = abc%(xyz-part-of-secret)s\n', FILE);
    const s = section(d, 'account a');
    assert.throws(
      () => getOption(d, s, 'client_secret', { secret: true }),
      (err: Error & { code: string }) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.equal(
          err.message,
          `${FILE} line 2: Config for [account a]: option client_secret: bad interpolation: refers to an option that neither [account a] nor [DEFAULT] sets`,
        );
        return true;
      },
    );
  });
});
