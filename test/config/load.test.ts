import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  type ConfigWarning,
  checkAccountFiles,
  findConfigPath,
  loadRenewerConfig,
  missingConfigMessage,
  readClientSecretFile,
  readPasswordFile,
} from '../../src/config/index.js';
import type { TokenwardenError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const PASSWORD = 'pw-4e1d9c2b7a';
const PW_HINT =
  'password_file must be a file readable by this user whose first line is the secret (mode 0600)';

async function rejection(promise: Promise<unknown>): Promise<TokenwardenError> {
  try {
    await promise;
  } catch (err) {
    return err as TokenwardenError;
  }
  assert.fail('no error');
}

describe('findConfigPath', () => {
  it('prefers --config, then $OSG_TOKEN_RENEWER_CONFIG_PATH, then $TOKENWARDEN_CONFIG, then the default', () => {
    const env = { OSG_TOKEN_RENEWER_CONFIG_PATH: '/osg/config.ini', TOKENWARDEN_CONFIG: '/tw/config.ini' };
    assert.equal(findConfigPath({ cliPath: '/cli/config.ini', env }), '/cli/config.ini');
    assert.equal(findConfigPath({ env }), '/osg/config.ini');
    assert.equal(
      findConfigPath({ cliPath: undefined, env: { TOKENWARDEN_CONFIG: '/tw/config.ini' } }),
      '/tw/config.ini',
    );
    const none = () => false;
    assert.equal(findConfigPath({ env: {}, exists: none }), '/etc/tokenwarden/config.ini');
    assert.equal(
      findConfigPath({ env: { OSG_TOKEN_RENEWER_CONFIG_PATH: '', TOKENWARDEN_CONFIG: '' }, exists: none }),
      '/etc/tokenwarden/config.ini',
      'empty values are skipped',
    );
  });

  it("falls back to osg-token-renewer's config only when nothing names one and ours does not exist", () => {
    const only =
      (...paths: string[]) =>
      (p: string) =>
        paths.includes(p);
    const osg = '/etc/osg/token-renewer/config.ini';
    const ours = '/etc/tokenwarden/config.ini';
    assert.equal(findConfigPath({ env: {}, exists: only(osg) }), osg);
    assert.equal(findConfigPath({ env: {}, exists: only(osg, ours) }), ours, 'ours wins when both exist');
    assert.equal(findConfigPath({ env: {}, exists: only() }), ours, 'neither: ours, named in the error');
    assert.equal(findConfigPath({ env: { TOKENWARDEN_CONFIG: '/tw.ini' }, exists: only(osg) }), '/tw.ini');
    assert.equal(findConfigPath({ cliPath: '/cli.ini', env: {}, exists: only(osg) }), '/cli.ini');
  });

  it('the "no config" message of the default path names both default paths', async () => {
    assert.equal(
      missingConfigMessage('/etc/tokenwarden/config.ini'),
      'no config file: neither /etc/tokenwarden/config.ini nor /etc/osg/token-renewer/config.ini exists',
    );
    assert.equal(missingConfigMessage('/x/config.ini'), 'config file /x/config.ini does not exist');
  });

  it('makes a relative path absolute', () => {
    assert.equal(findConfigPath({ cliPath: 'conf/config.ini', env: {} }), resolve('conf/config.ini'));
  });
});

describe('loading config.ini and the files it names', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-config-'));
  });
  afterEach(async () => cleanup());

  const ctx = (path: string) => ({ path, env: {}, uid: 1000, home: '/home/alice' });

  it('reads, parses and resolves a config file', async () => {
    const path = join(dir, 'config.ini');
    await writeFile(
      path,
      `[DEFAULT]\nstate_dir = ${dir}/state\n\n[account vo]\npassword_file = ${dir}/vo.pw\n`,
    );
    const config = await loadRenewerConfig(ctx(path));
    assert.equal(config.file, path);
    assert.equal(config.stateDir, `${dir}/state`);
    assert.equal(config.accounts.get('vo')?.kind, 'refresh');
  });

  it('a missing config file is CONFIG_NOT_FOUND, with a hint', async () => {
    const path = join(dir, 'nope.ini');
    const err = await rejection(loadRenewerConfig(ctx(path)));
    assert.equal(err.code, 'CONFIG_NOT_FOUND');
    assert.equal(err.message, `config file ${path} does not exist`);
    assert.equal(
      err.hint,
      'create it (`tokenwarden setup ACCOUNT --write` adds an [account] section), ' +
        'or name another with --config PATH or $OSG_TOKEN_RENEWER_CONFIG_PATH',
    );
  });

  it('an unreadable config file (a directory) is CONFIG_INVALID', async () => {
    const err = await rejection(loadRenewerConfig(ctx(dir)));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.message, `cannot read config file ${dir}: is a directory`);
  });

  it('a config file that is not UTF-8 is CONFIG_INVALID', async () => {
    const path = join(dir, 'latin1.ini');
    await writeFile(path, Buffer.from([0x5b, 0x74, 0xe9, 0x5d, 0x0a]));
    const err = await rejection(loadRenewerConfig(ctx(path)));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.message, `config file ${path} is not UTF-8 text`);
  });

  it('errors inside the file name it and the line', async () => {
    const path = join(dir, 'config.ini');
    await writeFile(
      path,
      '[account vo]\npassword_file = /vo.pw\n\n[token t]\naccount = vo\ntoken_path = /t\nmode = 0777\n',
    );
    const err = await rejection(loadRenewerConfig(ctx(path)));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(
      err.message,
      `${path} line 7: Config for [token t]: mode = "0777" lets every user write the token file`,
    );
  });

  it('a device, a FIFO or a file over 1 MiB is refused before it is read', async () => {
    const hint = 'give --config a config.ini file (a regular file of a few kB)';
    for (const path of ['/dev/zero', '/dev/null']) {
      const err = await rejection(loadRenewerConfig(ctx(path)));
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.message, `config file ${path} is not a regular file (a device, FIFO or socket)`);
      assert.equal(err.hint, hint);
    }
    const fifo = join(dir, 'fifo.ini');
    execFileSync('mkfifo', [fifo]);
    const err = await rejection(loadRenewerConfig(ctx(fifo)));
    assert.equal(err.message, `config file ${fifo} is not a regular file (a device, FIFO or socket)`);
    const big = join(dir, 'big.ini');
    await writeFile(big, `# ${'x'.repeat(1024 * 1024)}\n`);
    const large = await rejection(loadRenewerConfig(ctx(big)));
    assert.equal(large.code, 'CONFIG_INVALID');
    assert.equal(large.message, `config file ${big} is larger than 1048576 bytes; a config.ini is a few kB`);
  });

  describe('secret file permissions', () => {
    const robot = (secretLine: string) => `[account robot]
token_request_url = https://iam.example.org/token
client_id = robot
${secretLine}

[token t]
account = robot
token_path = ${dir}/t.token
`;

    it('a password file readable by every user is a warning naming it and the fix, given once', async () => {
      const pw = join(dir, 'vo.pw');
      await writeFile(pw, `${PASSWORD}\n`, { mode: 0o644 });
      await chmod(pw, 0o644);
      const warnings: ConfigWarning[] = [];
      const context = 'Config for [account vo]';
      assert.equal((await readPasswordFile(pw, context, warnings)).reveal(), PASSWORD);
      await readPasswordFile(pw, context, warnings);
      assert.deepEqual(warnings, [
        {
          file: pw,
          message: `Config for [account vo]: password_file ${pw} is readable by every user (mode 0644)`,
          hint: `run: chmod 600 ${pw} (or chmod o-r ${pw})`,
        },
      ]);
      // Readable by its group only (osg-token-renewer shares files with a service group): no warning.
      await chmod(pw, 0o640);
      const none: ConfigWarning[] = [];
      await readPasswordFile(pw, context, none);
      assert.deepEqual(none, []);
    });

    it('a secret file writable by its group or every user is refused', async () => {
      const secret = join(dir, 'robot.secret');
      await writeFile(secret, 'robot-secret\n');
      for (const [mode, who] of [
        [0o660, 'its group'],
        [0o602, 'every user'],
        [0o622, 'its group and every user'],
      ] as const) {
        await chmod(secret, mode);
        const err = await rejection(readClientSecretFile(secret, 'Config for [account robot]'));
        assert.equal(err.code, 'FILE_UNSAFE');
        assert.equal(
          err.message,
          `Config for [account robot]: client_secret_file ${secret} is writable by ${who} (mode 0${mode.toString(8)}): whoever can write it can change the secret`,
        );
        assert.equal(err.hint, `run: chmod go-w ${secret} (or chmod 600 ${secret})`);
      }
    });

    it('a config.ini holding client_secret follows the same rule; one without a secret does not', async () => {
      const path = join(dir, 'config.ini');
      await writeFile(path, robot('client_secret = inline-secret-1'));
      await chmod(path, 0o644);
      const warnings: ConfigWarning[] = [];
      await loadRenewerConfig({ ...ctx(path), warnings });
      assert.deepEqual(warnings, [
        {
          file: path,
          message: `config file ${path}, which holds client_secret ([account robot] line 1), is readable by every user (mode 0644)`,
          hint: `run: chmod o-r ${path}`,
        },
      ]);
      await chmod(path, 0o664);
      const err = await rejection(loadRenewerConfig(ctx(path)));
      assert.equal(err.code, 'FILE_UNSAFE');
      assert.match(
        err.message,
        /^config file .*, which holds client_secret \(\[account robot\] line 1\), is writable by its group \(mode 0664\)/,
      );
      await writeFile(path, robot(`client_secret_file = ${dir}/robot.secret`));
      await chmod(path, 0o664);
      const clean: ConfigWarning[] = [];
      await loadRenewerConfig({ ...ctx(path), warnings: clean });
      assert.deepEqual(clean, []);
    });
  });

  describe('readPasswordFile', () => {
    it('returns the first line without its newline, as a Secret', async () => {
      const path = join(dir, 'a.pw');
      await writeFile(path, `${PASSWORD}\nsecond line\n`, { mode: 0o600 });
      const secret = await readPasswordFile(path, 'Config for [account a]');
      assert.equal(secret.reveal(), PASSWORD);
      assert.equal(String(secret), '[REDACTED]');
      await writeFile(path, PASSWORD);
      assert.equal(
        (await readPasswordFile(path, 'Config for [account a]')).reveal(),
        PASSWORD,
        'no newline at all',
      );
      // Only the newline goes, like oidc-agent's password files: a CR stays part of the password.
      await writeFile(path, `${PASSWORD}\r\n`);
      assert.equal((await readPasswordFile(path, 'Config for [account a]')).reveal(), `${PASSWORD}\r`);
    });

    it('a missing file is PASSWORD_FILE naming the account and the file', async () => {
      const path = join(dir, 'missing.pw');
      const err = await rejection(readPasswordFile(path, 'Config for [account a]'));
      assert.equal(err.code, 'PASSWORD_FILE');
      assert.equal(err.message, `Config for [account a]: password_file ${path}: no such file`);
      assert.equal(err.hint, PW_HINT);
    });

    it('an unreadable file (a directory; mode 000 would still be readable by root) is PASSWORD_FILE', async () => {
      const path = join(dir, 'dir.pw');
      await mkdir(path);
      const err = await rejection(readPasswordFile(path, 'Config for [account a]'));
      assert.equal(err.code, 'PASSWORD_FILE');
      assert.equal(err.message, `Config for [account a]: password_file ${path}: is a directory`);
      const below = join(dir, 'missing-dir', 'a.pw');
      const err2 = await rejection(readPasswordFile(below, 'Config for [account a]'));
      assert.equal(err2.code, 'PASSWORD_FILE');
      assert.equal(err2.message, `Config for [account a]: password_file ${below}: no such file`);
    });

    it('an empty file, or an empty first line, is PASSWORD_FILE', async () => {
      const path = join(dir, 'empty.pw');
      await writeFile(path, '');
      const err = await rejection(readPasswordFile(path, 'Config for [account a]'));
      assert.equal(err.code, 'PASSWORD_FILE');
      assert.equal(err.message, `Config for [account a]: password_file ${path}: is empty`);
      await writeFile(path, `\n${PASSWORD}\n`);
      const err2 = await rejection(readPasswordFile(path, 'Config for [account a]'));
      assert.equal(err2.code, 'PASSWORD_FILE');
      assert.equal(err2.message, `Config for [account a]: password_file ${path}: its first line is empty`);
      assert.doesNotMatch(err2.message, new RegExp(PASSWORD));
    });
  });

  it('a password file on a local disk, read without the thread pool, gives the same secrets, errors and warnings', async () => {
    const context = 'Config for [account a]';
    const outcome = async (path: string, local: boolean) => {
      const warnings: ConfigWarning[] = [];
      try {
        const secret = await readPasswordFile(path, context, warnings, { local });
        return { secret: secret.reveal(), warnings };
      } catch (err) {
        const e = err as TokenwardenError;
        return { code: e.code, message: e.message, hint: e.hint, warnings };
      }
    };
    const good = join(dir, 'good.pw');
    await writeFile(good, `${PASSWORD}\nsecond\n`, { mode: 0o600 });
    const open = join(dir, 'open.pw');
    await writeFile(open, `${PASSWORD}\n`);
    await chmod(open, 0o644);
    const groupWritable = join(dir, 'gw.pw');
    await writeFile(groupWritable, `${PASSWORD}\n`);
    await chmod(groupWritable, 0o660);
    const empty = join(dir, 'empty.pw');
    await writeFile(empty, '');
    const blank = join(dir, 'blank.pw');
    await writeFile(blank, `\n${PASSWORD}\n`);
    const big = join(dir, 'big.pw');
    await writeFile(big, 'x'.repeat(1024 * 1024));
    const sub = join(dir, 'sub.pw');
    await mkdir(sub);
    const fifo = join(dir, 'fifo.pw');
    execFileSync('mkfifo', [fifo]);
    const cases = [good, open, groupWritable, empty, blank, big, sub, fifo, join(dir, 'none.pw')];
    for (const path of cases) {
      const viaPool = await outcome(path, false);
      assert.deepEqual(await outcome(path, true), viaPool, path);
    }
    assert.equal((await outcome(good, true)).secret, PASSWORD);
    assert.equal(
      (await outcome(fifo, true)).message,
      `${context}: password_file ${fifo}: is not a regular file`,
    );
  });

  it('readClientSecretFile reads the first line and names client_secret_file in errors', async () => {
    const path = join(dir, 'robot.secret');
    await writeFile(path, 'client-secret-value\n');
    assert.equal(
      (await readClientSecretFile(path, 'Config for [account robot]')).reveal(),
      'client-secret-value',
    );
    const err = await rejection(readClientSecretFile(join(dir, 'none'), 'Config for [account robot]'));
    assert.equal(err.code, 'PASSWORD_FILE');
    assert.equal(
      err.message,
      `Config for [account robot]: client_secret_file ${join(dir, 'none')}: no such file`,
    );
  });

  describe('checkAccountFiles', () => {
    async function configWith(body: string) {
      const path = join(dir, 'config.ini');
      await writeFile(path, `[DEFAULT]\nstate_dir = ${dir}/state\n\n${body}`);
      return loadRenewerConfig(ctx(path));
    }

    it('reads the password of every account some [token] uses, and only those', async () => {
      await writeFile(join(dir, 'vo.pw'), `${PASSWORD}\n`);
      await writeFile(join(dir, 'robot.secret'), 'robot-secret\n');
      const config = await configWith(`[account vo]
password_file = ${dir}/vo.pw

[account unused]
password_file = ${dir}/does-not-exist.pw

[account robot]
token_request_url = https://iam.example.org/token
client_id = robot
client_secret_file = ${dir}/robot.secret

[token a]
account = vo
token_path = ${dir}/a.token

[token b]
account = vo
token_path = ${dir}/b.token

[token c]
account = robot
token_path = ${dir}/c.token
`);
      const passwords = await checkAccountFiles(config);
      assert.deepEqual([...passwords.keys()], ['vo']);
      assert.equal(passwords.get('vo')?.reveal(), PASSWORD);
    });

    it('fails on the first unusable file, naming the config, line, account and file', async () => {
      const config = await configWith(`[account vo]
password_file = ${dir}/missing.pw

[token t]
account = vo
token_path = ${dir}/t.token
`);
      const err = await rejection(checkAccountFiles(config));
      assert.equal(err.code, 'PASSWORD_FILE');
      assert.equal(
        err.message,
        `${join(dir, 'config.ini')} line 4: Config for [account vo]: password_file ${dir}/missing.pw: no such file`,
      );
    });

    it('checks client_secret_file too', async () => {
      await writeFile(join(dir, 'empty.secret'), '');
      const config = await configWith(`[account robot]
token_request_url = https://iam.example.org/token
client_id = robot
client_secret_file = ${dir}/empty.secret

[token t]
account = robot
token_path = ${dir}/t.token
`);
      const err = await rejection(checkAccountFiles(config));
      assert.equal(err.code, 'PASSWORD_FILE');
      assert.equal(
        err.message,
        `${join(dir, 'config.ini')} line 4: Config for [account robot]: client_secret_file ${dir}/empty.secret: is empty`,
      );
    });
  });
});
