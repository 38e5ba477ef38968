import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  type AccountConfig,
  accountOrError,
  DEFAULT_MIN_LIFETIME,
  parseIni,
  type RenewerConfig,
  type ResolveContext,
  resolveRenewerConfig,
} from '../../src/config/index.js';
import type { TokenwardenError } from '../../src/errors.js';

const FILE = '/etc/tokenwarden/config.ini';
const CTX: ResolveContext = { file: FILE, env: {}, uid: 1000, home: '/home/alice' };
const SECRET = 'cc-secret-7f3a9b1e5d';

function load(text: string, ctx: Partial<ResolveContext> = {}): RenewerConfig {
  return resolveRenewerConfig(parseIni(text, FILE), { ...CTX, ...ctx });
}

function errorOf(text: string, ctx: Partial<ResolveContext> = {}): TokenwardenError {
  try {
    load(text, ctx);
  } catch (err) {
    return err as TokenwardenError;
  }
  assert.fail('the config was accepted');
}

function expectError(text: string, message: string, hint?: string): TokenwardenError {
  const err = errorOf(text);
  assert.equal(err.code, 'CONFIG_INVALID');
  assert.equal(err.message, message);
  if (hint !== undefined) assert.equal(err.hint, hint);
  assert.doesNotMatch(err.message, /\n/, 'one line');
  return err;
}

const ACCOUNT = '[account vo]\npassword_file = /etc/osg/tokens/vo.pw\n\n';

describe('resolveRenewerConfig: the OSG documentation examples', () => {
  it('a password_file account with a token that has an audience and scopes', () => {
    const config = load(`[account myvo]

password_file = /etc/osg/tokens/myvo.pw

[token ce]

account = myvo
token_path = /etc/osg/tokens/myvo.ce.token
audience = https://ce.example.org:9619
scope = compute.read compute.modify
`);
    assert.equal(config.file, FILE);
    assert.equal(config.stateDir, '/home/alice/.local/state/tokenwarden');
    assert.deepEqual(
      [...config.accounts.values()],
      [
        {
          name: 'myvo',
          line: 1,
          audienceParam: 'audience',
          timeoutSeconds: 30,
          kind: 'refresh',
          passwordFile: '/etc/osg/tokens/myvo.pw',
          credentialFile: '/home/alice/.local/state/tokenwarden/accounts/myvo.cred',
        },
      ],
    );
    assert.deepEqual(config.tokens, [
      {
        name: 'ce',
        line: 5,
        account: 'myvo',
        tokenPath: '/etc/osg/tokens/myvo.ce.token',
        audience: ['https://ce.example.org:9619'],
        scope: ['compute.read', 'compute.modify'],
        minLifetime: DEFAULT_MIN_LIFETIME,
        newline: true,
        grant: 'refresh',
      },
    ]);
  });

  it('a client-credentials account (token_request_url, client_id, client_secret) with min_lifetime = 7200', () => {
    const config = load(`[account robot]
token_request_url = https://iam.example.org/token
client_id = robot-client
client_secret = ${SECRET}

[token robot]
account = robot
token_path = /etc/osg/tokens/robot.robot.token
min_lifetime = 7200
`);
    const account = config.accounts.get('robot') as AccountConfig & { kind: 'client_credentials' };
    assert.equal(account.kind, 'client_credentials');
    assert.equal(account.tokenRequestUrl, 'https://iam.example.org/token');
    assert.equal(account.clientId, 'robot-client');
    assert.equal(account.clientSecret?.reveal(), SECRET);
    assert.equal(account.clientSecretFile, undefined);
    assert.equal(account.issuer, undefined);
    assert.equal(config.tokens[0]?.minLifetime, 7200);
    assert.deepEqual(config.tokens[0]?.audience, []);
    assert.deepEqual(config.tokens[0]?.scope, []);
    // The secret is held as a Secret: printing or serialising the config shows nothing of it.
    assert.doesNotMatch(JSON.stringify({ ...config, accounts: [...config.accounts.values()] }), /cc-secret/);
    assert.doesNotMatch(inspect(config, { depth: 10 }), /cc-secret/);
  });
});

describe('resolveRenewerConfig: our additions and defaults', () => {
  it('reads every addition', () => {
    const config = load(`[account vo]
password_file = /etc/osg/tokens/vo.pw
credential_file = /srv/creds/vo.cred
issuer = https://wlcg.cloud.cnaf.infn.it/
audience_param = RESOURCE
timeout = 12.5

[account robot]
token_request_url = http://127.0.0.1:8080/token
client_id = robot
client_secret_file = /etc/tokenwarden/robot.secret
issuer = http://127.0.0.1:8080

[token t]
account = vo
token_path = /var/run/tokens/t.token
owner = condor
group = 64
mode = 640
newline = Off
grant = exchange
scope = storage.read:/
  storage.create:/ storage.read:/
`);
    assert.deepEqual(config.accounts.get('vo'), {
      name: 'vo',
      line: 1,
      issuer: 'https://wlcg.cloud.cnaf.infn.it/',
      audienceParam: 'resource',
      timeoutSeconds: 12.5,
      kind: 'refresh',
      passwordFile: '/etc/osg/tokens/vo.pw',
      credentialFile: '/srv/creds/vo.cred',
    });
    assert.deepEqual(config.accounts.get('robot'), {
      name: 'robot',
      line: 8,
      issuer: 'http://127.0.0.1:8080',
      audienceParam: 'audience',
      timeoutSeconds: 30,
      kind: 'client_credentials',
      tokenRequestUrl: 'http://127.0.0.1:8080/token',
      clientId: 'robot',
      clientSecretFile: '/etc/tokenwarden/robot.secret',
    });
    assert.deepEqual(config.tokens[0], {
      name: 't',
      line: 14,
      account: 'vo',
      tokenPath: '/var/run/tokens/t.token',
      audience: [],
      scope: ['storage.read:/', 'storage.create:/'],
      minLifetime: DEFAULT_MIN_LIFETIME,
      owner: 'condor',
      group: '64',
      mode: 0o640,
      newline: false,
      grant: 'exchange',
    });
  });

  it('reads configparser booleans and octal modes', () => {
    const newline = (v: string) =>
      load(`${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\nnewline = ${v}\n`);
    for (const v of ['1', 'yes', 'TRUE', 'on']) assert.equal(newline(v).tokens[0]?.newline, true, v);
    for (const v of ['0', 'No', 'false', 'OFF']) assert.equal(newline(v).tokens[0]?.newline, false, v);
    const mode = (v: string) => load(`${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\nmode = ${v}\n`);
    assert.equal(mode('0600').tokens[0]?.mode, 0o600);
    assert.equal(mode('644').tokens[0]?.mode, 0o644);
    assert.equal(mode('0o440').tokens[0]?.mode, 0o440);
    assert.equal(mode('0').tokens[0]?.mode, 0);
  });

  it('inherits [DEFAULT] options, interpolates them, and does not call them unknown', () => {
    const config = load(`[DEFAULT]
state_dir = /srv/tokenwarden
dir = /etc/osg/tokens
min_lifetime = 1200
password_file = %(dir)s/main.pw
motd = 100% unused, never read

[account main]

[account robot]
token_request_url = https://iam.example.org/token
client_id = robot
client_secret_file = %(dir)s/robot.secret

[token a]
account = main
token_path = %(dir)s/main.a.token

[token b]
account = robot
token_path = %(dir)s/robot.b.token
min_lifetime = 0
`);
    assert.equal(config.stateDir, '/srv/tokenwarden');
    const main = config.accounts.get('main');
    assert.equal(main?.kind, 'refresh');
    assert.equal(main.passwordFile, '/etc/osg/tokens/main.pw');
    assert.equal(main.credentialFile, '/srv/tokenwarden/accounts/main.cred');
    // password_file from [DEFAULT] does not turn a client-credentials section into a mixed one.
    assert.equal(config.accounts.get('robot')?.kind, 'client_credentials');
    assert.deepEqual(
      config.tokens.map((t) => [t.name, t.tokenPath, t.minLifetime]),
      [
        ['a', '/etc/osg/tokens/main.a.token', 1200],
        ['b', '/etc/osg/tokens/robot.b.token', 0],
      ],
    );
  });

  it('chooses the state directory: $TOKENWARDEN_STATE_DIR, [DEFAULT] state_dir, root, XDG, home', () => {
    const withDefault = '[DEFAULT]\nstate_dir = /from/config\n';
    assert.equal(load(withDefault, { env: { TOKENWARDEN_STATE_DIR: '/from/env' } }).stateDir, '/from/env');
    assert.equal(load(withDefault, { uid: 0 }).stateDir, '/from/config');
    assert.equal(load('', { uid: 0, env: { XDG_STATE_HOME: '/xdg' } }).stateDir, '/var/lib/tokenwarden');
    assert.equal(load('', { env: { XDG_STATE_HOME: '/xdg' } }).stateDir, '/xdg/tokenwarden');
    assert.equal(
      load('', { env: { XDG_STATE_HOME: 'relative' } }).stateDir,
      '/home/alice/.local/state/tokenwarden',
    );
    assert.equal(load('').stateDir, '/home/alice/.local/state/tokenwarden');
  });

  it('resolves an empty file to an empty config (used before the first setup)', () => {
    const config = load('');
    assert.equal(config.accounts.size, 0);
    assert.deepEqual(config.tokens, []);
  });

  it('is frozen all the way down', () => {
    const config = load(`${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\nscope = a b\n`);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.tokens));
    assert.ok(Object.isFrozen(config.tokens[0]));
    assert.ok(Object.isFrozen(config.tokens[0]?.scope));
    assert.ok(Object.isFrozen(config.accounts.get('vo')));
    const accounts = config.accounts as Map<string, AccountConfig>;
    assert.throws(() => accounts.set('x', accounts.get('vo') as AccountConfig), TypeError);
    assert.throws(() => accounts.delete('vo'), TypeError);
    assert.throws(() => accounts.clear(), TypeError);
    assert.equal(config.accounts.size, 1);
  });
});

describe('resolveRenewerConfig: every error names the file, line, section and option', () => {
  it('a section that is not [account NAME] or [token NAME]', () => {
    const hint =
      'config.ini has only [DEFAULT], [account NAME] and [token NAME] sections (names are case-sensitive)';
    expectError(
      `${ACCOUNT}[foo]\n`,
      `${FILE} line 4: section [foo] is not [account NAME] or [token NAME]`,
      hint,
    );
    expectError('[account]\n', `${FILE} line 1: section [account] is not [account NAME] or [token NAME]`);
    expectError('[token a b]\n', `${FILE} line 1: section [token a b] is not [account NAME] or [token NAME]`);
    expectError('[Account a]\n', `${FILE} line 1: section [Account a] is not [account NAME] or [token NAME]`);
    expectError('[default]\n', `${FILE} line 1: section [default] is not [account NAME] or [token NAME]`);
  });

  it('a NAME that cannot be part of a file name', () => {
    expectError(
      '[account ..]\npassword_file = /x\n',
      `${FILE} line 1: section [account ..]: NAME must not contain "/" or control characters, nor be "." or ".."`,
    );
    expectError(
      '[token a/b]\n',
      `${FILE} line 1: section [token a/b]: NAME must not contain "/" or control characters, nor be "." or ".."`,
    );
  });

  it('the same section twice, however it is spaced', () => {
    expectError(
      `${ACCOUNT}[account   vo]\npassword_file = /y\n`,
      `${FILE} line 4: duplicate section [account vo] (first at line 1)`,
    );
  });

  it('a [token] whose [account] section is missing (osg-token-renewer wording)', () => {
    expectError(
      `${ACCOUNT}[token t]\naccount = nosuch\ntoken_path = /t\n`,
      `${FILE} line 5: Config for [token t]: missing [account nosuch] section`,
      'add it (tokenwarden setup nosuch --write), or fix account =',
    );
  });

  it('a missing required option', () => {
    expectError(
      `${ACCOUNT}[token t]\ntoken_path = /t\n`,
      `${FILE} line 4: Config for [token t]: missing account (the [account NAME] that gets the token)`,
    );
    expectError(
      `${ACCOUNT}[token t]\naccount = vo\n`,
      `${FILE} line 4: Config for [token t]: missing token_path (absolute path of the token file to keep fresh)`,
    );
    expectError(
      `${ACCOUNT}[token t]\naccount = vo\ntoken_path =\n`,
      `${FILE} line 6: Config for [token t]: token_path is empty (absolute path of the token file to keep fresh)`,
    );
    expectError(
      '[account a]\nissuer = https://x\n',
      `${FILE} line 1: Config for [account a]: missing password_file (a refresh-token account) or token_request_url, client_id and client_secret (a client-credentials account)`,
      'run: tokenwarden setup a --write',
    );
    expectError(
      '[account a]\ntoken_request_url = https://x/token\nclient_secret = s\n',
      `${FILE} line 1: Config for [account a]: missing client_id (client id of a client-credentials account)`,
    );
  });

  it('an unknown option, listing the valid ones', () => {
    expectError(
      `${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\nlifetime = 5\n`,
      `${FILE} line 7: Config for [token t]: unknown option lifetime; valid options for [token NAME]: ` +
        'account, token_path, audience, scope, min_lifetime, owner, group, mode, newline, grant',
    );
    expectError(
      '[account a]\npassword_file = /a.pw\npasword_file = /a.pw\n',
      `${FILE} line 3: Config for [account a]: unknown option pasword_file; valid options for [account NAME]: ` +
        'password_file, credential_file, token_request_url, client_id, client_secret, client_secret_file, ' +
        'issuer, audience_param, timeout',
    );
    expectError(
      '[account a]\npassword_file = /a.pw\nscope = x\n',
      `${FILE} line 3: Config for [account a]: unknown option scope; valid options for [account NAME]: ` +
        'password_file, credential_file, token_request_url, client_id, client_secret, client_secret_file, ' +
        'issuer, audience_param, timeout',
      'scope belongs in [token NAME] sections',
    );
    expectError(
      '[account a]\npassword_file = /a.pw\nstate_dir = /x\n',
      `${FILE} line 3: Config for [account a]: state_dir is read from [DEFAULT] only`,
      'move state_dir to [DEFAULT]',
    );
  });

  it('a bad number', () => {
    const token = (extra: string) => `${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\n${extra}\n`;
    expectError(
      token('min_lifetime = soon'),
      `${FILE} line 7: Config for [token t]: min_lifetime = "soon" is not a whole number of seconds (0 or more)`,
    );
    expectError(
      token('min_lifetime = -1'),
      `${FILE} line 7: Config for [token t]: min_lifetime = "-1" is not a whole number of seconds (0 or more)`,
    );
    expectError(
      token('min_lifetime = 1.5'),
      `${FILE} line 7: Config for [token t]: min_lifetime = "1.5" is not a whole number of seconds (0 or more)`,
    );
    expectError(
      '[account a]\npassword_file = /a.pw\ntimeout = 0\n',
      `${FILE} line 3: Config for [account a]: timeout = "0" is not a positive number of seconds`,
    );
    // configparser keeps inline comments: say so.
    expectError(
      token('min_lifetime = 300 # five minutes'),
      `${FILE} line 7: Config for [token t]: min_lifetime = "300 # five minutes" is not a whole number of seconds (0 or more)`,
      'configparser keeps inline comments as part of the value: put the comment on a line of its own',
    );
    // Plain http is for loopback test issuers only, and that is said before any network call.
    expectError(
      '[account a]\npassword_file = /a.pw\nissuer = http://iam.example.org/\n',
      `${FILE} line 3: Config for [account a]: issuer = "http://iam.example.org/" must use https (plain http only on loopback)`,
    );
    // An inline comment after a URL or a path would be kept in the value: refused, not encoded.
    const hint =
      'configparser keeps inline comments as part of the value: put the comment on a line of its own';
    expectError(
      '[account a]\npassword_file = /a.pw\nissuer = https://iam.example.org/    ; where setup logs in\n',
      `${FILE} line 3: Config for [account a]: issuer = "https://iam.example.org/    ; where setup logs in" is not a URL (it contains whitespace)`,
      hint,
    );
    expectError(
      token('min_lifetime = 0').replace('token_path = /t', 'token_path = /t.token   ; the CE token'),
      `${FILE} line 6: Config for [token t]: token_path = "/t.token   ; the CE token" holds what looks like an inline comment`,
      hint,
    );
    // A bad value from [DEFAULT] names the [DEFAULT] line and the section that reads it.
    assert.equal(
      errorOf(`[DEFAULT]\nmin_lifetime = soon\n${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\n`).message,
      `${FILE} line 2: Config for [token t]: min_lifetime = "soon" is not a whole number of seconds (0 or more)`,
    );
  });

  it('a bad boolean', () => {
    expectError(
      `${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\nnewline = maybe\n`,
      `${FILE} line 7: Config for [token t]: newline = "maybe" is not a boolean (true/false, yes/no, on/off, 1/0)`,
    );
  });

  it('a bad mode', () => {
    const token = (mode: string) => `${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\nmode = ${mode}\n`;
    expectError(
      token('0666'),
      `${FILE} line 7: Config for [token t]: mode = "0666" lets every user write the token file`,
      'use 0600, or 0640 with group',
    );
    expectError(
      token('4600'),
      `${FILE} line 7: Config for [token t]: mode = "4600" has setuid, setgid or sticky bits; a token file needs at most 0777`,
    );
    expectError(
      token('rw-------'),
      `${FILE} line 7: Config for [token t]: mode = "rw-------" is not an octal file mode like 0600`,
    );
    expectError(
      token('0800'),
      `${FILE} line 7: Config for [token t]: mode = "0800" is not an octal file mode like 0600`,
    );
  });

  it('other bad values', () => {
    const token = (extra: string) => `${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t\n${extra}\n`;
    expectError(
      `${ACCOUNT}[token t]\naccount = vo\ntoken_path = tokens/t\n`,
      `${FILE} line 6: Config for [token t]: token_path = "tokens/t" is not an absolute path`,
    );
    expectError(
      token('grant = implicit'),
      `${FILE} line 7: Config for [token t]: grant = "implicit" is not one of refresh, exchange`,
    );
    expectError(
      token('owner = two words'),
      `${FILE} line 7: Config for [token t]: owner = "two words" is not a user name or numeric uid`,
    );
    expectError(
      '[account a]\npassword_file = /a.pw\naudience_param = aud\n',
      `${FILE} line 3: Config for [account a]: audience_param = "aud" is not one of audience, resource`,
    );
    expectError(
      '[account a]\npassword_file = /a.pw\nissuer = ftp://x\n',
      `${FILE} line 3: Config for [account a]: issuer = "ftp://x" is not an https:// URL`,
    );
    expectError(
      '[account a]\npassword_file = a.pw\n',
      `${FILE} line 2: Config for [account a]: password_file = "a.pw" is not an absolute path`,
    );
    expectError(
      '[DEFAULT]\nstate_dir = state\n',
      `${FILE} line 2: Config for [DEFAULT]: state_dir = "state" is not an absolute path`,
    );
    assert.throws(() => load('', { env: { TOKENWARDEN_STATE_DIR: 'rel' } }), {
      code: 'CONFIG_INVALID',
      message: '$TOKENWARDEN_STATE_DIR: "rel" is not an absolute path',
    });
  });

  it('both kinds of account in one section', () => {
    expectError(
      '[account a]\npassword_file = /a.pw\ntoken_request_url = https://x/token\nclient_id = c\n',
      `${FILE} line 4: Config for [account a]: password_file (a refresh-token account) cannot be mixed with ` +
        'token_request_url, client_id (a client-credentials account)',
      'an account is one kind or the other: split it into two [account] sections',
    );
    expectError(
      '[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret_file = /s\ncredential_file = /c\n',
      `${FILE} line 5: Config for [account a]: credential_file applies only to password_file accounts`,
    );
    expectError(
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = ${SECRET}\nclient_secret_file = /s\n`,
      `${FILE} line 5: Config for [account a]: set client_secret or client_secret_file, not both`,
    );
    expectError(
      '[account a]\ntoken_request_url = https://x/token\nclient_id = c\n',
      `${FILE} line 1: Config for [account a]: missing client_secret or client_secret_file (the client secret of a client-credentials account)`,
      'client_secret_file keeps the secret out of config.ini',
    );
  });

  it('grant = exchange on a client-credentials account', () => {
    expectError(
      `[account robot]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = s\n\n[token t]\naccount = robot\ntoken_path = /t\ngrant = exchange\n`,
      `${FILE} line 9: Config for [token t]: grant = exchange needs a password_file account, and [account robot] is a client-credentials one`,
    );
  });

  it('two tokens writing the same file', () => {
    expectError(
      `${ACCOUNT}[token a]\naccount = vo\ntoken_path = /t/x\n\n[token b]\naccount = vo\ntoken_path = /t//x\n`,
      `${FILE} line 8: Config for [token b]: token_path /t//x is also the token_path of [token a] (line 4)`,
      'each [token] needs a file of its own',
    );
  });

  it('never echoes a client secret', () => {
    const cases = [
      // bad interpolation in the secret itself
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = ${SECRET}%\n`,
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = %(${SECRET})s\n`,
      // the secret next to another mistake
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = ${SECRET}\nclient_secret_file = /s\n`,
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = ${SECRET}\ntimeout = never\n`,
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = ${SECRET}\npassword_file = /p\n`,
      // a secret carried in a URL
      `[account a]\ntoken_request_url = https://user:${SECRET}@x/token\nclient_id = c\nclient_secret = s\n`,
    ];
    for (const text of cases) {
      const err = errorOf(text);
      assert.equal(err.code, 'CONFIG_INVALID', text);
      assert.ok(!err.message.includes(SECRET) && !String(err.hint).includes(SECRET), err.message);
      assert.ok(!err.message.includes(SECRET.slice(0, 12)), err.message);
    }
    expectError(
      `[account a]\ntoken_request_url = https://user:${SECRET}@x/token\nclient_id = c\nclient_secret = s\n`,
      `${FILE} line 2: Config for [account a]: token_request_url must not contain a user name or password`,
    );
    expectError(
      `[account a]\ntoken_request_url = https://x/token\nclient_id = c\nclient_secret = %(${SECRET})s\n`,
      `${FILE} line 4: Config for [account a]: option client_secret: bad interpolation: refers to an option that neither [account a] nor [DEFAULT] sets`,
    );
  });

  it('checks sections before options, and accounts before tokens', () => {
    // The token's error comes later in the file but the section error is reported first.
    assert.match(
      errorOf(`[token t]\nmin_lifetime = soon\n[bogus]\n`).message,
      /line 3: section \[bogus\] is not/,
    );
    assert.match(
      errorOf(`[token t]\naccount = vo\ntoken_path = /t\n[account vo]\npassword_file = rel\n`).message,
      /line 5: Config for \[account vo\]: password_file = "rel" is not an absolute path/,
    );
  });
});

describe('resolveRenewerConfig with collect: a broken section breaks only what depends on it', () => {
  const collect = (text: string) => resolveRenewerConfig(parseIni(text, FILE), CTX, { collect: true });
  const TEXT = [
    ACCOUNT,
    '[token good]\naccount = vo\ntoken_path = /t/good\n\n', // line 4
    '[token typo]\naccount = vo\ntoken_path = /t/typo\nlifetime = 5\n\n', // line 8
    '[account nopw]\nissuer = https://issuer.example\n\n', // line 13
    '[token uses-nopw]\naccount = nopw\ntoken_path = /t/nopw\n\n', // line 16
    '[tokn x]\n\n', // line 20
    '[token same-path]\naccount = vo\ntoken_path = /t/good\n\n', // line 22
  ].join('');

  it('keeps the sound sections and lists every problem in file order, with the strict message', () => {
    const config = collect(TEXT);
    assert.deepEqual(
      config.tokens.map((t) => t.name),
      ['good'],
    );
    assert.deepEqual([...config.accounts.keys()], ['vo']);
    assert.deepEqual(
      config.problems.map((p) => [p.kind, p.name, p.line]),
      [
        ['token', 'typo', 11],
        ['account', 'nopw', 13],
        [undefined, 'tokn x', 20],
        ['token', 'same-path', 22],
      ],
    );
    assert.deepEqual(
      config.brokenTokens.map((b) => [b.name, b.account, b.tokenPath]),
      [
        ['typo', 'vo', '/t/typo'],
        ['uses-nopw', 'nopw', '/t/nopw'],
        ['same-path', 'vo', '/t/good'],
      ],
    );
    const uses = config.brokenTokens.find((b) => b.name === 'uses-nopw');
    assert.equal(uses?.error, config.brokenAccounts.get('nopw'), "a token fails with its account's error");
    assert.match(
      uses?.error.message ?? '',
      /^\/etc\/tokenwarden\/config\.ini line 13: Config for \[account nopw\]: missing password_file/,
    );
    assert.ok(Object.isFrozen(config.problems) && Object.isFrozen(config.brokenTokens));
  });

  it('without collect, the first problem is thrown as before', () => {
    const err = errorOf(TEXT);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.message, collect(TEXT).problems.find((p) => p.name === 'tokn x')?.error.message);
  });

  it('a problem that concerns every section still throws', () => {
    assert.throws(
      () => collect(`[DEFAULT]\nstate_dir = relative\n\n${ACCOUNT}`),
      /state_dir = "relative" is not an absolute path/,
    );
  });
});

describe('accountOrError', () => {
  it("gives a sound account, undefined for none, and a broken account's own error", () => {
    const config = resolveRenewerConfig(
      parseIni(
        `${ACCOUNT}[account nopw]\nissuer = https://issuer.example\n\n[token t]\nfrobnicate = 1\n`,
        FILE,
      ),
      CTX,
      { collect: true },
    );
    assert.equal(accountOrError(config, 'vo')?.name, 'vo');
    assert.equal(accountOrError(config, 'nosuch'), undefined);
    assert.throws(
      () => accountOrError(config, 'nopw'),
      (err: TokenwardenError) =>
        err.code === 'CONFIG_INVALID' &&
        /Config for \[account nopw\]: missing password_file/.test(err.message),
    );
  });
});

describe('resolveRenewerConfig with collect: a bad interpolation breaks its section only', () => {
  it('a [token] whose account = cannot be interpolated is broken, the others kept', () => {
    const config = resolveRenewerConfig(
      parseIni(
        `${ACCOUNT}[token bad]\naccount = %(nope)s\ntoken_path = /t/bad\n\n[token good]\naccount = vo\ntoken_path = /t/good\n`,
        FILE,
      ),
      CTX,
      { collect: true },
    );
    assert.deepEqual(
      config.tokens.map((t) => t.name),
      ['good'],
    );
    assert.equal(config.brokenTokens[0]?.name, 'bad');
    assert.equal(config.brokenTokens[0]?.account, undefined);
    assert.match(config.brokenTokens[0]?.error.message ?? '', /line 5: .*nope/);
  });
});

describe('resolveRenewerConfig: the warnings webhook ([DEFAULT] webhook_url, webhook_timeout)', () => {
  const HOOK = 'https://hooks.example.org/services/T0/B0/hook-secret-4e7a?key=hook-secret-4e7a';

  it('is absent unless webhook_url is set; the URL is kept as a Secret, the timeout defaults to 10 s', () => {
    assert.equal(load(ACCOUNT).webhook, undefined);
    assert.equal(load(`[DEFAULT]\nwebhook_url =\n\n${ACCOUNT}`).webhook, undefined);
    const config = load(`[DEFAULT]\nwebhook_url = ${HOOK}\n\n${ACCOUNT}`);
    assert.equal(config.webhook?.url.reveal(), HOOK);
    assert.equal(config.webhook?.timeoutSeconds, 10);
    assert.ok(Object.isFrozen(config.webhook));
    assert.doesNotMatch(inspect(config, { depth: 5 }), /hook-secret/);
    assert.doesNotMatch(JSON.stringify(config), /hook-secret/);
    const other = load(
      `[DEFAULT]\nwebhook_url = http://127.0.0.1:9000/hook\nwebhook_timeout = 2.5\n\n${ACCOUNT}`,
    );
    assert.equal(other.webhook?.url.reveal(), 'http://127.0.0.1:9000/hook');
    assert.equal(other.webhook?.timeoutSeconds, 2.5);
  });

  it('refuses a bad webhook_url without quoting it, naming the line, even with collect', () => {
    const cases: [string, string, string | undefined][] = [
      [
        'http://hooks.example.org/hook-secret-4e7a',
        'webhook_url must use https (plain http only on loopback)',
        undefined,
      ],
      [
        'https://user:hook-secret-4e7a@hooks.example.org/',
        'webhook_url must not contain a user name or password',
        'put a token in its path or query',
      ],
      ['hook-secret-4e7a', 'webhook_url is not a URL', undefined],
      [
        `${HOOK} ; our chat`,
        'webhook_url is not a URL',
        'configparser keeps inline comments as part of the value: put the comment on a line of its own',
      ],
    ];
    for (const [url, detail, hint] of cases) {
      const text = `[DEFAULT]\nwebhook_url = ${url}\n\n${ACCOUNT}`;
      const err = expectError(text, `${FILE} line 2: Config for [DEFAULT]: ${detail}`, hint);
      assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /hook-secret/);
      assert.throws(
        () => resolveRenewerConfig(parseIni(text, FILE), CTX, { collect: true }),
        (e: TokenwardenError) => e.message === err.message,
      );
    }
  });

  it('refuses a bad webhook_timeout, and both options outside [DEFAULT]', () => {
    expectError(
      `[DEFAULT]\nwebhook_url = ${HOOK}\nwebhook_timeout = 0\n\n${ACCOUNT}`,
      `${FILE} line 3: Config for [DEFAULT]: webhook_timeout = "0" is not a positive number of seconds`,
    );
    expectError(
      '[account a]\npassword_file = /a.pw\nwebhook_url = https://h.example.org/x\n',
      `${FILE} line 3: Config for [account a]: webhook_url is read from [DEFAULT] only`,
      'move webhook_url to [DEFAULT]',
    );
    expectError(
      `${ACCOUNT}[token t]\naccount = vo\ntoken_path = /t/t\nwebhook_timeout = 5\n`,
      `${FILE} line 7: Config for [token t]: webhook_timeout is read from [DEFAULT] only`,
      'move webhook_timeout to [DEFAULT]',
    );
  });
});
