import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  type CondorConfig,
  CredmonConfigError,
  locateCondorConfig,
  MAX_CONFIG_FILE_BYTES,
  readCondorConfig,
} from '../../../src/credmon/config/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { stockCondorConfig } from './fixtures.js';

const DETECTED = new Map([
  ['FULL_HOSTNAME', 'ap1.example.org'],
  ['HOSTNAME', 'ap1'],
]);

async function rejection(p: Promise<unknown>): Promise<CredmonConfigError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CredmonConfigError, `not a CredmonConfigError: ${(err as Error).stack}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.exitCode, 99);
    return err;
  }
  assert.fail('no error');
}

describe('reading condor_config as HTCondor does', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-condor-config-'));
  });
  afterEach(async () => {
    await cleanup();
  });

  const read = (
    source: string | undefined,
    env: Record<string, string> = {},
    cwd?: string,
  ): Promise<CondorConfig> => readCondorConfig({ source, env, detected: DETECTED, ...(cwd ? { cwd } : {}) });

  it('reads a stock condor_config, its config.d in lexical order (backups skipped) and use feature : OAUTH', async () => {
    const { condorConfig, configD } = await stockCondorConfig(dir);
    const cfg = await read(condorConfig);
    assert.deepEqual(cfg.sources, [
      condorConfig,
      join(configD, '00-htcondor-9.0.config'),
      join(configD, '01-central-manager.config'),
      join(configD, '40-oauth-credmon.conf'),
      join(configD, '40-oauth-tokens.conf'),
    ]);
    assert.equal(cfg.param('SEC_CREDENTIAL_DIRECTORY_OAUTH'), '/var/lib/condor/oauth_credentials');
    assert.equal(cfg.param('CREDMON_OAUTH_LOG'), '/var/log/condor/CredMonOAuthLog');
    assert.equal(cfg.param('TRUST_CREDENTIAL_DIRECTORY'), 'True');
    assert.equal(cfg.param('DAEMON_LIST'), 'CREDMON_OAUTH');
    assert.equal(cfg.param('LIBEXEC'), '/usr/libexec/condor');
    assert.equal(cfg.param('ALLOW_ADMINISTRATOR'), 'ap1.example.org', 'undefined CONDOR_HOST is empty');
    assert.equal(cfg.param('CONFIG_ROOT'), join(dir, 'etc', 'condor'));
    assert.equal(
      cfg.table.where('LOCAL_CREDMON_PROVIDER_NAMES'),
      `${join(configD, '40-oauth-credmon.conf')}:6`,
    );
    assert.match(
      cfg.table.where('SEC_CREDENTIAL_DIRECTORY_OAUTH') ?? '',
      /40-oauth-credmon\.conf:3 \(use FEATURE : OAUTH\):1$/,
    );
    assert.deepEqual(
      cfg.warnings.map((w) => w.replace(dir, 'ROOT')),
      [
        'ROOT/etc/condor/condor_config:21: "use SECURITY : HOST_BASED" not expanded: tokenwarden knows only FEATURE : OAUTH; no other template sets a knob the credmon reads',
        'ROOT/etc/condor/config.d/00-htcondor-9.0.config:2: "use security : recommended_v9_0" not expanded: tokenwarden knows only FEATURE : OAUTH; no other template sets a knob the credmon reads',
        'ROOT/etc/condor/config.d/01-central-manager.config:1: "use role : get_htcondor_central_manager" not expanded: tokenwarden knows only FEATURE : OAUTH; no other template sets a knob the credmon reads',
      ],
    );
  });

  it('reads LOCAL_CONFIG_FILE after LOCAL_CONFIG_DIR, and LOCAL_CONFIG_DIR again when it changed', async () => {
    const { condorConfig, etc } = await stockCondorConfig(dir);
    const second = join(dir, 'second.d');
    await mkdir(second);
    await writeFile(join(second, 'z.conf'), 'LATE = from-second-dir\nCREDMON_WEB_PREFIX = https://second\n');
    await writeFile(
      join(etc, 'condor_config.local'),
      `CREDMON_WEB_PREFIX = https://local\nLOCAL_CONFIG_DIR = $(LOCAL_CONFIG_DIR), ${second}\n`,
    );
    const cfg = await read(condorConfig);
    assert.equal(
      cfg.sources.at(-1),
      join(second, 'z.conf'),
      'every directory of the new list is read again, as HTCondor does',
    );
    assert.equal(cfg.sources.at(-6), join(etc, 'condor_config.local'));
    assert.equal(cfg.param('LATE'), 'from-second-dir');
    assert.equal(
      cfg.param('CREDMON_WEB_PREFIX'),
      'https://second',
      'the dirs are read again after the local file',
    );
  });

  it('requires LOCAL_CONFIG_FILE unless REQUIRE_LOCAL_CONFIG_FILE is false', async () => {
    const file = join(dir, 'condor_config');
    await writeFile(file, `LOCAL_CONFIG_FILE = ${dir}/missing.local\n`);
    const err = await rejection(read(file));
    assert.equal(err.message, `${file}:1: configuration file ${dir}/missing.local does not exist`);
    await writeFile(
      file,
      `REQUIRE_LOCAL_CONFIG_FILE = False\nLOCAL_CONFIG_FILE = ${dir}/missing.local\nA = 1\n`,
    );
    assert.equal((await read(file)).param('A'), '1');
  });

  it('lets _CONDOR_<KNOB> environment variables (prefix in any case) override every file', async () => {
    const { condorConfig } = await stockCondorConfig(dir);
    const cfg = await read(condorConfig, {
      _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: '/srv/creds',
      _condor_credmon_oauth_log: '$(LOG)/Other',
      _CONDOR_DAEMON_LIST: '$(DAEMON_LIST) EXTRA',
      CONDOR_NOT_A_KNOB: 'x',
      '_CONDOR_bad name': 'x',
    });
    assert.equal(cfg.param('SEC_CREDENTIAL_DIRECTORY_OAUTH'), '/srv/creds');
    assert.equal(
      cfg.table.where('SEC_CREDENTIAL_DIRECTORY_OAUTH'),
      'environment (_CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH)',
    );
    assert.equal(cfg.param('CREDMON_OAUTH_LOG'), '/var/log/condor/Other', 'macros in the environment expand');
    assert.equal(cfg.param('DAEMON_LIST'), 'CREDMON_OAUTH EXTRA', 'self reference: the value from the files');
    assert.equal(cfg.param('NOT_A_KNOB'), undefined);
  });

  it('reads only the environment with CONDOR_CONFIG=ONLY_ENV', async () => {
    const located = await locateCondorConfig({ env: { CONDOR_CONFIG: 'only_env' } });
    assert.equal(located.source, undefined);
    const cfg = await read(located.source, { _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: '/c' });
    assert.deepEqual(cfg.sources, []);
    assert.equal(cfg.param('SEC_CREDENTIAL_DIRECTORY_OAUTH'), '/c');
  });

  it('includes files, optional files, directories and relative paths (from the working directory)', async () => {
    const inc = join(dir, 'inc');
    await mkdir(join(inc, 'd'), { recursive: true });
    await writeFile(join(inc, 'a.conf'), 'A = from-a\nFILE = b\n');
    await writeFile(join(inc, 'b.conf'), 'B = from-b\n');
    await writeFile(join(inc, 'd', '2.conf'), 'D = two\n');
    await writeFile(join(inc, 'd', '1.conf'), 'D = one\nD1 = 1\n');
    await writeFile(join(inc, 'd', '.hidden'), 'D = hidden\n');
    const file = join(dir, 'condor_config');
    await writeFile(
      file,
      [
        `include : ${inc}/a.conf`,
        `@include : ${inc}/$(FILE).conf`,
        `include ifexist : ${inc}/nope.conf`,
        `INCLUDE IFEXIST: ${inc}/d`,
        'include : inc/b.conf',
        'AFTER = $(A)/$(B)/$(D)',
      ].join('\n'),
    );
    const cfg = await read(file, {}, dir);
    assert.equal(cfg.param('AFTER'), 'from-a/from-b/two');
    assert.equal(cfg.param('D1'), '1');
    assert.deepEqual(cfg.sources.slice(1), [
      join(inc, 'a.conf'),
      join(inc, 'b.conf'),
      join(inc, 'd', '1.conf'),
      join(inc, 'd', '2.conf'),
      join(inc, 'b.conf'),
    ]);
  });

  it('follows if / elif / else / endif with defined, version, booleans and $(MACRO)', async () => {
    const file = join(dir, 'condor_config');
    await writeFile(
      file,
      `DEF = yes
EMPTY =
if defined DEF
  R1 = defined
else
  R1 = undefined
endif
if ! defined MY_UNDEFINED_VARIABLE
  R2 = not-defined
endif
if defined EMPTY
  R3 = wrong
elif version >= 9.0
  R3 = version-9
elif true
  R3 = wrong-too
else
  R3 = wrong-three
endif
if version < 8.2.3
  R4 = old
elif $(DEF)
  if false
    R4 = nested-wrong
  else
    R4 = nested-else
  endif
endif
if $(UNDEFINED_MACRO)
  R5 = wrong
else
  R5 = empty-is-false
endif
if version == 25.0
  R6 = equal
endif
if 0
  include : /does/not/exist
  error : never read
endif
if defined use FEATURE:OAUTH
  R7 = metaknob
endif
:if true
:  R8 = old-parsers-skip-this
:endif
`,
    );
    const cfg = await read(file);
    assert.deepEqual(
      ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8'].map((k) => cfg.param(k)),
      [
        'defined',
        'not-defined',
        'version-9',
        'nested-else',
        'empty-is-false',
        'equal',
        'metaknob',
        'old-parsers-skip-this',
      ],
    );
  });

  it('handles += appends, ":" assignments (warned), [section] lines and @= values', async () => {
    const file = join(dir, 'condor_config');
    await writeFile(
      file,
      `[HTCondor Settings]
L = a
L += b
L +,= c
S +&&= x
S +&&= y
OLD : style
FLAGS = a
CREDMON_OAUTH.FLAGS = $(FLAGS) mine
JRD @=end
  [ a = 1; ]
@end
`,
    );
    const cfg = await read(file);
    assert.equal(cfg.param('L'), 'a b,c');
    assert.equal(cfg.param('S'), 'x && y');
    assert.equal(cfg.param('OLD'), 'style');
    assert.equal(cfg.param('JRD'), '[ a = 1; ]');
    assert.equal(cfg.param('FLAGS'), 'a mine', 'SUBSYS.X = $(X) more refers to the plain X');
    assert.deepEqual(cfg.warnings, [`${file}:7: OLD: obsolete use of ":" for an assignment, read as "="`]);
  });

  it('names file and line for every syntax error', async () => {
    const file = join(dir, 'condor_config');
    const cases: Array<[string, string]> = [
      ['A = 1\nthis is not config\n', ':2: not a configuration statement (the line starts with "this")'],
      [
        's3cr3t-pasted-here-by-mistake-0123456789\n',
        ':1: not a configuration statement (the line starts with "s3cr3t-pasted-here-b")',
      ],
      ['A-B = 1\n', ':1: illegal knob name "A-B"'],
      ['if defined A\nX = 1\n', ':1: "if" without a matching "endif"'],
      ['endif\n', ':1: "endif" without an "if"'],
      ['if true\nelse\nelse\nendif\n', ':3: "else" after "else" in the same "if"'],
      ['if $(A) && $(B)\nendif\n', ':1: "if $(A) && $(B)": only simple conditions are supported'],
      ['if version >= nine\nendif\n', ':1: "if version >= nine": the version literal is invalid'],
      ['X = 1\nerror : stop here $(X)\n', ':2: error: stop here 1'],
      ['include : /nonexistent/file.conf\n', ':1: configuration file /nonexistent/file.conf does not exist'],
      ['include command : /bin/echo A=1\n', ':1: include of a command: tokenwarden does not run commands'],
      ['include : /bin/echo A=1 |\n', ':1: include of a command'],
      ['include sometimes : /x\n', ':1: unexpected word "sometimes" after "include"'],
      ['include :\n', ':1: "include :" names no file'],
      ['A = $(B)\nB = $(A)\ninclude : $(A)\n', ':3: include: $(A) refers to itself: A -> B -> A'],
      [
        'LOCAL_CONFIG_DIR = $(X)\nX = $(LOCAL_CONFIG_DIR)\n',
        ':1: LOCAL_CONFIG_DIR: $(LOCAL_CONFIG_DIR) refers to itself: LOCAL_CONFIG_DIR -> X -> LOCAL_CONFIG_DIR',
      ],
    ];
    for (const [text, expected] of cases) {
      await writeFile(file, text);
      const err = await rejection(read(file));
      assert.ok(err.message.startsWith(`${file}${expected}`), `${JSON.stringify(text)}: ${err.message}`);
    }
  });

  it('reads the cache of "include command into" without running anything', async () => {
    const file = join(dir, 'condor_config');
    const cache = join(dir, 'cache.conf');
    await writeFile(file, `include ifexist command into ${cache} : /bin/false\n`);
    const cfg = await read(file);
    assert.match(cfg.warnings[0] ?? '', /its cache .* does not exist and tokenwarden runs no commands/);
    await writeFile(cache, 'FROM_CACHE = 1\n');
    assert.equal((await read(file)).param('FROM_CACHE'), '1');
  });

  it('bounds sizes and depth: an oversized file, a FIFO, a file that includes itself', async () => {
    const file = join(dir, 'condor_config');
    const big = join(dir, 'big.conf');
    await writeFile(big, `A = ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`);
    await writeFile(file, `include : ${big}\n`);
    let err = await rejection(read(file));
    assert.match(
      err.message,
      new RegExp(
        `^${file}:1: configuration file ${big} is \\d+ bytes, more than the ${MAX_CONFIG_FILE_BYTES} accepted$`,
      ),
    );
    const fifo = join(dir, 'fifo.conf');
    execFileSync('mkfifo', [fifo]);
    await writeFile(file, `include : ${fifo}\n`);
    err = await rejection(read(file));
    assert.equal(err.message, `${file}:1: configuration file ${fifo} is not a regular file`);
    await writeFile(file, `include : ${file}\n`);
    err = await rejection(read(file));
    assert.match(err.message, /includes nested more than 20 deep/);
    assert.match(err.hint ?? '', /includes itself/);
  });

  it('refuses a bad LOCAL_CONFIG_DIR_EXCLUDE_REGEXP, naming it', async () => {
    const file = join(dir, 'condor_config');
    await mkdir(join(dir, 'd'));
    await writeFile(file, `LOCAL_CONFIG_DIR_EXCLUDE_REGEXP = ([\nLOCAL_CONFIG_DIR = ${dir}/d\n`);
    const err = await rejection(read(file));
    assert.equal(err.message, `${file}:1: LOCAL_CONFIG_DIR_EXCLUDE_REGEXP is not a valid regular expression`);
  });
});

describe('finding the first configuration file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-condor-locate-'));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('takes --condor-config, then CONDOR_CONFIG, then the search list, in that order', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    for (const f of [a, b, c]) await writeFile(f, '');
    assert.deepEqual(await locateCondorConfig({ cliPath: a, env: { CONDOR_CONFIG: b }, search: [c] }), {
      source: a,
      how: '--condor-config',
    });
    assert.equal((await locateCondorConfig({ env: { CONDOR_CONFIG: b }, search: [c] })).source, b);
    assert.equal((await locateCondorConfig({ env: {}, search: [join(dir, 'none'), c] })).source, c);
    assert.equal(
      (await locateCondorConfig({ env: { CONDOR_CONFIG: '' }, search: [c] })).source,
      c,
      'empty is unset',
    );
    await writeFile(join(dir, 'condor_config'), '');
    assert.equal(
      (await locateCondorConfig({ env: {}, search: [join(dir, 'none')], condorHome: dir })).source,
      join(dir, 'condor_config'),
      '~condor/condor_config comes last',
    );
    assert.equal((await locateCondorConfig({ env: { CONDOR_CONFIG: '/dev/null' } })).source, undefined);
    const relative = await locateCondorConfig({ cliPath: 'package.json', env: {} });
    assert.equal(relative.source, join(process.cwd(), 'package.json'), 'a relative path is made absolute');
  });

  it('stops at a CONDOR_CONFIG that cannot be read instead of looking further, and refuses commands', async () => {
    const c = join(dir, 'c');
    await writeFile(c, '');
    const err = await rejection(
      locateCondorConfig({ env: { CONDOR_CONFIG: join(dir, 'missing') }, search: [c] }),
    );
    assert.equal(err.message, `CONDOR_CONFIG: ${join(dir, 'missing')} is not a readable configuration file`);
    const cmd = await rejection(locateCondorConfig({ env: { CONDOR_CONFIG: '/usr/bin/make_config|' } }));
    assert.match(cmd.message, /^CONDOR_CONFIG: the configuration is a command/);
    const none = await rejection(locateCondorConfig({ env: {}, search: [join(dir, 'x')] }));
    assert.match(
      none.message,
      /^no HTCondor configuration: CONDOR_CONFIG is not set and none of .*\/x exists$/,
    );
    assert.match(none.hint ?? '', /--condor-config/);
  });
});
