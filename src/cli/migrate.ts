import { constants } from 'node:fs';
import { lstat, mkdir, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { findOidcAgentAccountFile, readOidcAgentAccount } from '../agent/oidc-agent/index.js';
import {
  type AccountConfig,
  configPlace,
  DEFAULT_CONFIG_PATH,
  findOidcAgentDir,
  loadRenewerConfig,
  OSG_CONFIG_PATH,
  oidcAgentDirCandidates,
  type RenewerConfig,
  readPasswordFile,
} from '../config/index.js';
import { isTokenwardenError, TokenwardenError } from '../errors.js';
import { lockFileBeside } from '../files/index.js';
import { boolOpt, type Command, stringOpt } from './command.js';
import { saveOidcAgentAccount } from './import-oidc-agent.js';
import { asServiceUser, requireServiceUser, type ServiceUser } from './service-user.js';
import { JSON_OPTION } from './shared.js';

/** osg-token-renewer's service account (its package's `User=`). */
export const OSG_SERVICE_USER = 'osg-token-svc';

/** What migrate did (or, with --dry-run, would do) with one [account]. */
export type AccountMigration =
  | 'imported'
  | 'would-import'
  | 'already-imported'
  | 'client-credentials'
  | 'no-account-file'
  | 'wrong-password'
  | 'password-file'
  | 'no-refresh-token'
  | 'failed';

const FAILED: ReadonlySet<AccountMigration> = new Set([
  'no-account-file',
  'wrong-password',
  'password-file',
  'no-refresh-token',
  'failed',
]);

export interface AccountReport {
  account: string;
  status: AccountMigration;
  detail: string;
  oidc_agent_file?: string;
  credential_file?: string;
}

export const command: Command = {
  name: 'migrate',
  summary: 'Take over an osg-token-renewer site: import its oidc-agent accounts for renew (as root).',
  usage: 'migrate osg-token-renewer [--config PATH] [--user NAME] [--oidc-dir DIR] [--dry-run] [--json]',
  details: `Run as root, once; running it again is harmless. Reads osg-token-renewer's config.ini (default
$OSG_TOKEN_RENEWER_CONFIG_PATH, else ${OSG_CONFIG_PATH}) and never modifies it. For every [account]
with a password_file it finds the oidc-agent account file that osg-token-renewer-setup made with oidc-gen
as the service user (--user, default ${OSG_SERVICE_USER}): in --oidc-dir, else the first of
~USER/.config/oidc-agent and ~USER/.oidc-agent that exists. It decrypts that file with the password_file
and stores issuer, client and refresh token as a tokenwarden credential where \`renew\` run as that user
finds it: the account's credential_file, by default STATE_DIR/accounts/ACCOUNT.cred, STATE_DIR being
state_dir of [DEFAULT] or else ~USER/.local/state/tokenwarden. Everything is created as that user
(files 0600, directories 0700), and every file is read as that user, so what migrate can do, renew can.
An existing credential is never replaced (its refresh token may have rotated since). Client-credentials
accounts need nothing. The oidc-agent files are left as they are.
Per account it says: imported, already imported, client credentials, no account file, wrong password,
password file unreadable, no refresh token. Then what to run next: a trial renew, the systemd units
(\`tokenwarden units --as osg-token-renewer\`), and how to stop the old timer.
What its exit status says: 0 every account is ready; 1 some account could not be migrated (see its line);
2 bad command line or not root; 3 the config is wrong or missing.`,
  allowPositionals: true,
  options: {
    config: {
      type: 'string',
      short: 'c',
      valueName: 'PATH',
      description: `osg-token-renewer's config.ini (default $OSG_TOKEN_RENEWER_CONFIG_PATH, else ${OSG_CONFIG_PATH})`,
    },
    user: {
      type: 'string',
      valueName: 'NAME',
      description: `the user renew will run as, owner of the oidc-agent files (default ${OSG_SERVICE_USER})`,
    },
    'oidc-dir': {
      type: 'string',
      valueName: 'DIR',
      description: "that user's oidc-agent directory (default ~USER/.config/oidc-agent or ~USER/.oidc-agent)",
    },
    'dry-run': { type: 'boolean', description: 'check and report, write nothing' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    const [from, ...extra] = args.positionals;
    if (from !== 'osg-token-renewer' || extra.length > 0) {
      throw new TokenwardenError('USAGE', 'migrate needs what to migrate from: osg-token-renewer', {
        hint: 'run: tokenwarden migrate osg-token-renewer',
      });
    }
    const user = await requireServiceUser(stringOpt(args, 'user') ?? OSG_SERVICE_USER, '--user');
    if (io.uid !== 0 && io.uid !== user.uid) {
      throw new TokenwardenError('USAGE', `migrate must run as root (or as ${user.name})`, {
        hint: 'run it with sudo',
      });
    }
    const path = resolve(
      stringOpt(args, 'config') || io.env.OSG_TOKEN_RENEWER_CONFIG_PATH || OSG_CONFIG_PATH,
    );
    // The environment renew has under systemd (User= sets HOME) or runuser: nothing of the caller's.
    const config = await loadRenewerConfig({
      path,
      env: { HOME: user.home },
      uid: user.uid,
      home: user.home,
    });
    const dryRun = boolOpt(args, 'dry-run');
    const oidcDir = stringOpt(args, 'oidc-dir');
    const result = await asServiceUser(user, () => migrateAsUser(config, user, { dryRun, oidcDir }));
    if (path !== DEFAULT_CONFIG_PATH && (await exists(DEFAULT_CONFIG_PATH))) {
      result.warnings.push(
        `${DEFAULT_CONFIG_PATH} exists: renew without --config reads it, not ${path} (the units name --config)`,
      );
    }
    const next = nextSteps(config.file, user, path === OSG_CONFIG_PATH);
    for (const w of result.warnings) io.err(`tokenwarden: warning: ${w}\n`);
    const failed = result.accounts.filter((a) => FAILED.has(a.status)).length + result.problems.length;
    return {
      exitCode: failed > 0 ? 1 : 0,
      text: renderText(config, user, result, next, dryRun, failed),
      json: {
        config: config.file,
        user: user.name,
        state_dir: config.stateDir,
        dry_run: dryRun,
        accounts: result.accounts,
        problems: result.problems,
        warnings: result.warnings,
        next,
      },
    };
  },
};

interface MigrationResult {
  accounts: AccountReport[];
  /** What stops renew as the user from working, besides the accounts: exit status 1. */
  problems: string[];
  warnings: string[];
}

/** Runs as the service user (asServiceUser): every check and every write is that user's. */
async function migrateAsUser(
  config: RenewerConfig,
  user: ServiceUser,
  options: { dryRun: boolean; oidcDir: string | undefined },
): Promise<MigrationResult> {
  const result: MigrationResult = { accounts: [], problems: [], warnings: [] };
  if (!(await canRead(config.file))) {
    result.problems.push(
      `${user.name} cannot read ${config.file}: renew as ${user.name} would fail (osg-token-renewer installs it 0640 root:${user.name})`,
    );
  }
  if (!options.dryRun) {
    try {
      await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      result.problems.push(
        `cannot create the state directory ${config.stateDir} as ${user.name}: ${errnoText(err)}`,
      );
      return result;
    }
  }
  for (const account of config.accounts.values()) {
    result.accounts.push(await migrateAccount(account, config, user, options));
  }
  // renew replaces a token file by a rename in its directory, where osg-token-renewer truncated the file in
  // place: the directory itself must be writable by the user.
  const dirs = new Set(config.tokens.map((t) => dirname(t.tokenPath)));
  for (const dir of dirs) {
    if (!(await mayWriteDirectory(dir, user))) {
      const names = config.tokens.filter((t) => dirname(t.tokenPath) === dir).map((t) => `[token ${t.name}]`);
      result.warnings.push(
        `${user.name} cannot write ${dir}, so renew cannot renew ${names.join(', ')}: give the directory to ${user.name} (osg-token-renewer's package makes /etc/osg/tokens root:${user.name} 0770)`,
      );
    }
  }
  return result;
}

async function migrateAccount(
  account: AccountConfig,
  config: RenewerConfig,
  user: ServiceUser,
  options: { dryRun: boolean; oidcDir: string | undefined },
): Promise<AccountReport> {
  const name = account.name;
  if (account.kind === 'client_credentials') {
    return { account: name, status: 'client-credentials', detail: 'client credentials: nothing to import' };
  }
  const credentialFile = account.credentialFile;
  const base = { account: name, credential_file: credentialFile };
  if (await exists(credentialFile)) {
    return {
      ...base,
      status: 'already-imported',
      detail: `already imported (${credentialFile}), left as it is`,
    };
  }
  const env = options.oidcDir ? { OIDC_CONFIG_DIR: options.oidcDir } : {};
  const file = findOidcAgentAccountFile(name, env, user.home);
  if (file === undefined) {
    const dir = findOidcAgentDir(env, user.home);
    const where = dir ?? `none of ${oidcAgentDirCandidates(env, user.home).join(', ')}`;
    return {
      ...base,
      status: 'no-account-file',
      detail: `no oidc-agent account file ${name} in ${where}: log in anew with: runuser -u ${user.name} -- tokenwarden setup ${name} --config ${config.file}`,
    };
  }
  const withFile = { ...base, oidc_agent_file: file };
  try {
    const password = await readPasswordFile(
      account.passwordFile,
      configPlace(config.file, account.line, `account ${name}`),
    );
    const found = await readOidcAgentAccount(file, password);
    if (!found.refreshToken) {
      return {
        ...withFile,
        status: 'no-refresh-token',
        detail: `${file} holds no refresh token: log in anew with: runuser -u ${user.name} -- tokenwarden setup ${name} --config ${config.file}`,
      };
    }
    if (options.dryRun) {
      return { ...withFile, status: 'would-import', detail: `would import ${file} into ${credentialFile}` };
    }
    await saveOidcAgentAccount({
      name,
      account: found,
      credentialFile,
      lockFile: lockFileBeside(credentialFile),
      password,
    });
    return {
      ...withFile,
      status: 'imported',
      detail: `imported ${file} (issuer ${found.issuer}) into ${credentialFile}`,
    };
  } catch (err) {
    if (!isTokenwardenError(err)) throw err;
    if (err.code === 'PASSWORD_FILE') {
      return { ...withFile, status: 'password-file', detail: `${err.message} (read as ${user.name})` };
    }
    if (err.code === 'STORE_DECRYPT_FAILED') {
      return {
        ...withFile,
        status: 'wrong-password',
        detail: `password_file ${account.passwordFile} does not open ${file}: wrong password, or the file was altered`,
      };
    }
    return { ...withFile, status: 'failed', detail: err.message };
  }
}

function nextSteps(configFile: string, user: ServiceUser, defaultConfig: boolean): string[] {
  const cfg = defaultConfig ? '' : ` --config ${configFile}`;
  return [
    `try it as the service will run it: runuser -u ${user.name} -- tokenwarden renew${cfg} --verbose`,
    `replace the old units, keeping their names and drop-ins: tokenwarden units --as osg-token-renewer${cfg}${user.name === OSG_SERVICE_USER ? '' : ` --user ${user.name}`} --install, then: systemctl daemon-reload && systemctl reenable osg-token-renewer.timer && systemctl restart osg-token-renewer.timer`,
    `or, under tokenwarden's names: tokenwarden units --user ${user.name} --config ${configFile} --install, then: systemctl daemon-reload && systemctl disable --now osg-token-renewer.timer && systemctl enable --now tokenwarden-renew.timer`,
  ];
}

function renderText(
  config: RenewerConfig,
  user: ServiceUser,
  result: MigrationResult,
  next: string[],
  dryRun: boolean,
  failed: number,
): string {
  const lines = [
    `migrate osg-token-renewer${dryRun ? ' (dry run: nothing written)' : ''}: ${config.file}, as ${user.name}, state in ${config.stateDir}`,
    ...result.accounts.map((a) => `  [account ${a.account}] ${a.detail}`),
    ...result.problems.map((p) => `  problem: ${p}`),
  ];
  if (failed > 0) lines.push(`${failed} thing(s) need attention first (above); then run migrate again.`);
  lines.push('next:', ...next.map((n, i) => `  ${i + 1}. ${n}`));
  return lines.join('\n');
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Whether this process (its effective ids: access(2) would check the real ones) can open `path`. */
async function canRead(path: string): Promise<boolean> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    await handle.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `user` may create and rename files in `dir`, from its mode bits (ACLs aside): access(2) checks
 * the real uid, not the effective one asServiceUser sets, and a trial write would write in --dry-run.
 */
async function mayWriteDirectory(dir: string, user: ServiceUser): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return false;
  if (user.uid === 0) return true;
  const groups = new Set([user.gid, ...(process.getgroups?.() ?? [])]);
  const bits =
    st.uid === user.uid ? (st.mode >> 6) & 7 : groups.has(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 3) === 3;
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? String(err));
}
