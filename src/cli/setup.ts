import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type AccountConfig, accountOrError, configError, type RenewerConfig } from '../config/index.js';
import { OAuthError, TokenwardenError } from '../errors.js';
import { readFileIfExists, writeFileAtomic } from '../files/index.js';
import type { AudienceParam } from '../oidc/index.js';
import { Secret } from '../secret.js';
import {
  checkIssuerUrl,
  checkSetupOptions,
  createAccount,
  type LoginFlow,
  type SetupMode,
  type SetupResult,
} from '../setup/index.js';
import { createFileStore, GENERATED_PASSWORD_KDF_COST } from '../store/index.js';
import { formatDuration, splitList } from '../tokens/index.js';
import { boolOpt, type CliIO, type Command, type ParsedArgs, secondsOpt, stringOpt } from './command.js';
import { promptSecret } from './prompt.js';
import { CONFIG_OPTION, JSON_OPTION, loadConfigIfExists } from './shared.js';

export const DEFAULT_SCOPE = 'openid offline_access wlcg.groups storage.read:/ compute.read';

export const command: Command = {
  name: 'setup',
  summary: 'Register a client, log in, and store the account encrypted; print its [account] section.',
  usage:
    'setup ACCOUNT [--issuer URL] [--scope S] [--flow device|code] [--manual] [--client-credentials] [--write]',
  details: `Default: dynamic client registration (RFC 7591), then the device flow: open the URL shown, enter
the code. --flow code logs in with the authorization code flow + PKCE on a loopback redirect instead.
--manual uses a client registered by hand (--client-id; the secret from --client-secret-file, or typed
at the prompt, or the first line of standard input). --client-credentials needs no human.
The refresh token is stored encrypted with the account's password file (created with a random password
when it does not exist). Settings come from the [account ACCOUNT] section of --config when present.
An account that is set up already is refused unless --force (a new login replaces its stored refresh
token), except when its credential is marked as needing a new login.
Secrets are never printed and never taken from the command line.`,
  allowPositionals: true,
  options: {
    ...CONFIG_OPTION,
    issuer: {
      type: 'string',
      valueName: 'URL',
      description: 'the token issuer (default: issuer in the config)',
    },
    scope: { type: 'string', valueName: 'S', description: `scopes to ask for (default "${DEFAULT_SCOPE}")` },
    flow: { type: 'string', valueName: 'device|code', description: 'how the human logs in (default device)' },
    manual: { type: 'boolean', description: 'use a client registered by hand (--client-id)' },
    'client-credentials': {
      type: 'boolean',
      description: 'a client-credentials account: no login, no refresh token',
    },
    'client-id': { type: 'string', valueName: 'ID', description: 'client id of a client registered by hand' },
    'client-secret-file': {
      type: 'string',
      valueName: 'FILE',
      description: 'read the client secret from FILE (--manual); where to save it (--client-credentials)',
    },
    'password-file': {
      type: 'string',
      valueName: 'FILE',
      description:
        'the account password file (default: password_file of the config, else STATE_DIR/ACCOUNT.pw)',
    },
    'audience-param': {
      type: 'string',
      valueName: 'audience|resource',
      description: 'how audiences are asked for',
    },
    write: { type: 'boolean', short: 'w', description: 'append the [account] section to --config' },
    force: {
      type: 'boolean',
      description: 'replace an account that is set up already (its stored refresh token is lost)',
    },
    timeout: {
      type: 'string',
      valueName: 'SECS',
      description: 'how long to wait for the login (default 600)',
    },
    ...JSON_OPTION,
  },
  async run(args, io) {
    return runSetup(args, io);
  },
};

export interface SetupHooks {
  /** Called with the user code once the device flow has started (the demo approves it here). */
  onUserCode?: (userCode: string) => void | Promise<void>;
  /** Called with the authorization URL (tests and the demo follow it). */
  onAuthorizationUrl?: (url: URL) => void | Promise<void>;
}

export async function runSetup(args: ParsedArgs, io: CliIO, hooks: SetupHooks = {}) {
  const plan = await planSetup(args, io);
  const { name, mode, issuer, passwordFile, credentialFile } = plan;
  // From here on files are written; a failure takes back every file and directory this run created.
  const created = await noteMissingPaths(
    mode === 'client-credentials'
      ? plan.saveSecretTo === undefined
        ? []
        : [plan.saveSecretTo]
      : [passwordFile, credentialFile],
  );
  try {
    let password = plan.password;
    const store = createFileStore({
      credentialFile: () => credentialFile,
      // A new password file is written only when the credential it seals is: after the login, so that
      // a login that fails, or is interrupted while waiting for the human, leaves no password file.
      password: async () => {
        password ??= await createPasswordFile(passwordFile, io);
        return password;
      },
      // A password setup generates is 256 random bits: no stretching needed (see seal.ts).
      ...(plan.password === undefined ? { kdf: GENERATED_PASSWORD_KDF_COST } : {}),
    });
    const signal = AbortSignal.timeout(plan.timeoutSeconds * 1000);
    let result: SetupResult;
    /** Where the human was sent to approve the login, for the message when nobody did. */
    let approveAt: string | undefined;
    let codeExpiresAt: number | undefined;
    try {
      result = await createAccount({
        account: name,
        issuer,
        mode,
        flow: plan.flow,
        scope: plan.scope,
        clientId: plan.clientId,
        clientSecret: plan.clientSecret,
        audienceParam: plan.audienceParam,
        store,
        ctx: { timeoutSeconds: plan.existing?.timeoutSeconds ?? 30 },
        signal,
        onDeviceCode: async (auth) => {
          approveAt = auth.verificationUri;
          codeExpiresAt = Date.now() + auth.expiresIn * 1000;
          io.err(
            `To log in to ${issuer}, open ${auth.verificationUri} and enter the code: ${auth.userCode}\n`,
          );
          if (auth.verificationUriComplete) io.err(`(or open ${auth.verificationUriComplete})\n`);
          io.err(`Waiting for the login (the code expires in ${formatDuration(auth.expiresIn)})...\n`);
          await hooks.onUserCode?.(auth.userCode);
        },
        onAuthorizationUrl: async (url) => {
          approveAt = 'the URL setup shows';
          io.err(`To log in to ${issuer}, open this URL in a browser on this machine:\n  ${url.href}\n`);
          await hooks.onAuthorizationUrl?.(url);
        },
      });
    } catch (err) {
      throw loginNotFinished(err, {
        account: name,
        timeoutSeconds: plan.timeoutSeconds,
        timedOut: signal.aborted,
        approveAt,
        codeExpired: codeExpiresAt !== undefined && Date.now() >= codeExpiresAt,
      });
    } finally {
      await store.close();
    }
    return await finishSetup(plan, result, io);
  } catch (err) {
    const removed = await removeCreatedPaths(created);
    if (removed.length > 0)
      io.err(`setup ${name} failed: removed what it had created: ${removed.join(', ')}\n`);
    throw err;
  }
}

/** What setup knew when its login failed. */
export interface LoginState {
  account: string;
  timeoutSeconds: number;
  /** setup's own --timeout has run out. */
  timedOut: boolean;
  /** Where the human was sent to approve the login; undefined before the login began. */
  approveAt: string | undefined;
  /** The device code's expires_in has passed. */
  codeExpired: boolean;
}

/**
 * A login that ended while waiting for the human is said as such (not as a slow issuer): who had to do
 * what, and how to get more time. Also a device code that expired first (issuers answer expired_token
 * or, having forgotten the code, invalid_grant) and a login the human refused (access_denied).
 */
export function loginNotFinished(err: unknown, state: LoginState): unknown {
  if (state.approveAt === undefined) return err;
  const where = ` at ${state.approveAt}`;
  const oauth = err instanceof OAuthError ? err : undefined;
  if (oauth?.error === 'access_denied') {
    return new TokenwardenError(
      'LOGIN_DENIED',
      `setup ${state.account}: the login was refused: ${oauth.message}`,
      {
        hint: `run setup again, log in as the user the account is for, and approve the request${where}`,
      },
    );
  }
  if (oauth?.error === 'expired_token' || (oauth?.error === 'invalid_grant' && state.codeExpired)) {
    return new TokenwardenError(
      'LOGIN_TIMEOUT',
      `setup ${state.account}: the login code expired before anyone approved the login`,
      { hint: `run setup again and approve the login${where} before the code expires` },
    );
  }
  if (err instanceof TokenwardenError && err.code === 'TIMEOUT' && state.timedOut) {
    const secs = state.timeoutSeconds;
    return new TokenwardenError(
      'LOGIN_TIMEOUT',
      `setup ${state.account}: nobody approved the login within ${secs} s (--timeout)`,
      {
        hint: `run setup again and approve the login${where} within ${secs} s, or give a longer --timeout SECS`,
      },
    );
  }
  return err;
}

/** Everything setup needs, every input checked. Making it reads files and the prompt; it writes nothing. */
interface SetupPlan {
  name: string;
  config: RenewerConfig;
  configExists: boolean;
  existing: AccountConfig | undefined;
  mode: SetupMode;
  flow: LoginFlow;
  issuer: string;
  scope: string[];
  audienceParam: AudienceParam | undefined;
  timeoutSeconds: number;
  clientId: string | undefined;
  clientSecret: Secret | undefined;
  /** The secret file named in the [account] section of a client-credentials account. */
  secretFile: string | undefined;
  /** Where the secret of a client-credentials account is saved (undefined: it was read from a file). */
  saveSecretTo: string | undefined;
  passwordFile: string;
  /** The first line of an existing password file; undefined when setup must create the file. */
  password: Secret | undefined;
  credentialFile: string;
  write: boolean;
}

async function planSetup(args: ParsedArgs, io: CliIO): Promise<SetupPlan> {
  const name = args.positionals[0];
  if (name === undefined || args.positionals.length > 1 || !/^[A-Za-z0-9._+=-]+$/.test(name)) {
    throw new TokenwardenError('USAGE', 'setup needs one ACCOUNT name (letters, digits, . _ + = -)', {
      hint: 'run `tokenwarden setup --help`',
    });
  }
  const { config, configExists } = await configForSetup(args, io);
  const existing = accountOrError(config, name);
  const manual = boolOpt(args, 'manual');
  const mode: SetupMode = boolOpt(args, 'client-credentials')
    ? 'client-credentials'
    : manual
      ? 'manual'
      : 'dynamic';
  checkOptionsFitMode(args, mode);
  checkAccountKind(config, existing, mode);
  const flow = (stringOpt(args, 'flow') ?? 'device') as LoginFlow;
  const issuerOpt = stringOpt(args, 'issuer');
  const issuer = issuerOpt ?? existing?.issuer;
  if (!issuer) {
    throw new TokenwardenError('USAGE', `setup ${name}: which issuer?`, {
      hint: `give --issuer URL, or set issuer in [account ${name}] of the config`,
    });
  }
  if (issuerOpt === undefined && existing !== undefined) {
    // setup's own checks (no query, fragment or credentials in the URL) apply to a config issuer too.
    try {
      checkIssuerUrl(issuer);
    } catch (err) {
      if (!(err instanceof TokenwardenError)) throw err;
      throw configError(config.file, existing.line, `account ${name}`, err.message, 'or give --issuer URL');
    }
  }
  const audienceParam = (stringOpt(args, 'audience-param') ?? existing?.audienceParam) as
    | AudienceParam
    | undefined;
  const scopeOpt = stringOpt(args, 'scope');
  const scope = [...new Set(splitList(scopeOpt ?? DEFAULT_SCOPE))];
  if (scope.length === 0) throw new TokenwardenError('USAGE', '--scope: give at least one scope');
  if (mode !== 'client-credentials' && !scope.includes('offline_access')) scope.push('offline_access');
  const timeoutSeconds = secondsOpt(args, 'timeout', 600);
  const clientId =
    stringOpt(args, 'client-id') ?? (existing?.kind === 'client_credentials' ? existing.clientId : undefined);
  if (manual && !clientId) throw new TokenwardenError('USAGE', 'setup --manual needs --client-id ID');
  checkSetupOptions(
    { issuer, mode, flow, scope, clientId, audienceParam },
    {
      issuer: issuerOpt === undefined ? 'issuer' : '--issuer',
      flow: '--flow',
      scope: '--scope',
      clientId: '--client-id ID',
      audienceParam: '--audience-param',
    },
  );

  const passwordFile =
    stringOpt(args, 'password-file') ??
    (existing?.kind === 'refresh' ? existing.passwordFile : join(config.stateDir, `${name}.pw`));
  const credentialFile =
    existing?.kind === 'refresh'
      ? existing.credentialFile
      : join(config.stateDir, 'accounts', `${name}.cred`);
  const secretFile = stringOpt(args, 'client-secret-file');
  const readFromFile = mode !== 'dynamic' && clientId !== undefined && secretFile !== undefined;
  const saveSecretTo =
    mode !== 'client-credentials' || readFromFile
      ? undefined
      : (secretFile ?? join(config.stateDir, `${name}.secret`));
  const password = mode === 'client-credentials' ? undefined : await readPassword(passwordFile);
  // Before any prompt or request: what a new setup would overwrite.
  if (!boolOpt(args, 'force')) {
    await refuseToReplace(name, mode === 'client-credentials' ? undefined : credentialFile, password);
    if (saveSecretTo !== undefined && (await pathExists(saveSecretTo))) {
      throw new TokenwardenError(
        'USAGE',
        `setup ${name}: ${saveSecretTo} exists already; setting the account up again would replace the client secret it holds`,
        { hint: 'to replace it anyway, add --force; or give another --client-secret-file FILE' },
      );
    }
  }
  let clientSecret: Secret | undefined;
  if (clientId !== undefined && mode !== 'dynamic') {
    clientSecret = secretFile
      ? await readSecretFile(secretFile)
      : io.env.TOKENWARDEN_CLIENT_SECRET
        ? new Secret(io.env.TOKENWARDEN_CLIENT_SECRET)
        : await promptSecret(io, `client secret for ${clientId}: `);
  }
  return {
    name,
    config,
    configExists,
    existing,
    mode,
    flow,
    issuer,
    scope,
    audienceParam,
    timeoutSeconds,
    clientId,
    clientSecret,
    secretFile:
      mode !== 'client-credentials' ? undefined : (secretFile ?? join(config.stateDir, `${name}.secret`)),
    saveSecretTo,
    passwordFile,
    password,
    credentialFile,
    write: boolOpt(args, 'write'),
  };
}

function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Refuses to set up an account whose credential exists (without --force): a new login replaces the
 * stored refresh token, which cannot be had back. Only a credential already marked as needing a new
 * login (its refresh token is dead, nothing is lost) may be replaced without --force.
 */
async function refuseToReplace(
  name: string,
  credentialFile: string | undefined,
  password: Secret | undefined,
): Promise<void> {
  if (credentialFile === undefined || !(await pathExists(credentialFile))) return;
  if (password !== undefined) {
    const store = createFileStore({
      credentialFile: () => credentialFile,
      password: async () => password,
    });
    try {
      const record = await store.load(name).catch(() => undefined);
      if (record?.needsLogin !== undefined) return;
    } finally {
      await store.close();
    }
  }
  throw new TokenwardenError(
    'USAGE',
    `setup ${name}: account ${name} is set up already (${credentialFile}); a new setup would replace its stored refresh token, which cannot be had back`,
    { hint: 'to log in again and replace it anyway, add --force; or give another ACCOUNT name' },
  );
}

/** Options the chosen kind of account would silently ignore are refused instead. */
function checkOptionsFitMode(args: ParsedArgs, mode: SetupMode): void {
  const refuse = (option: string, why: string) => {
    throw new TokenwardenError('USAGE', `${option} ${why}`, { hint: 'run `tokenwarden setup --help`' });
  };
  if (mode === 'dynamic') {
    for (const option of ['client-id', 'client-secret-file']) {
      if (stringOpt(args, option) !== undefined)
        refuse(`--${option}`, 'needs --manual or --client-credentials');
    }
  }
  if (mode === 'client-credentials') {
    for (const option of ['flow', 'password-file']) {
      if (stringOpt(args, option) !== undefined) {
        refuse(`--${option}`, 'does not go with --client-credentials (no login, no refresh token)');
      }
    }
  }
}

/** A section already in the config says which kind of account it is; setup must not make the other. */
function checkAccountKind(config: RenewerConfig, existing: AccountConfig | undefined, mode: SetupMode): void {
  if (existing === undefined) return;
  const where = `[account ${existing.name}] of ${config.file}`;
  if (existing.kind === 'client_credentials' && mode !== 'client-credentials') {
    throw new TokenwardenError('USAGE', `${where} is a client-credentials account`, {
      hint: `run \`tokenwarden setup ${existing.name} --client-credentials\``,
    });
  }
  if (existing.kind === 'refresh' && mode === 'client-credentials') {
    throw new TokenwardenError(
      'USAGE',
      `${where} is a refresh-token account (password_file), not client credentials`,
      {
        hint: 'give the robot account another name',
      },
    );
  }
}

async function finishSetup(plan: SetupPlan, result: SetupResult, io: CliIO) {
  const { name, config, mode, issuer, audienceParam } = plan;
  const lines = [`[account ${name}]`];
  if (mode === 'client-credentials') {
    if (plan.saveSecretTo !== undefined && result.clientSecret) {
      await mkdir(dirname(plan.saveSecretTo), { recursive: true, mode: 0o700 });
      await writeFileAtomic(plan.saveSecretTo, `${result.clientSecret.reveal()}\n`, { mode: 0o600 });
      io.err(`saved the client secret in ${plan.saveSecretTo} (mode 0600)\n`);
    }
    lines.push(`token_request_url = ${result.tokenEndpoint}`, `client_id = ${result.clientId}`);
    lines.push(`client_secret_file = ${plan.secretFile}`, `issuer = ${issuer}`);
  } else {
    lines.push(`password_file = ${plan.passwordFile}`, `issuer = ${issuer}`);
    if (plan.existing?.kind === 'refresh' && plan.existing.credentialFile !== plan.credentialFile) {
      lines.push(`credential_file = ${plan.credentialFile}`);
    }
  }
  if (audienceParam) lines.push(`audience_param = ${audienceParam}`);
  const section = `${lines.join('\n')}\n`;
  const wrote = plan.write ? await writeSection(config, plan.configExists, name, section, io) : false;
  io.err(`account ${name} is set up (client ${result.clientId}; scopes: ${result.scope.join(' ')})\n`);
  return {
    text: wrote ? `added [account ${name}] to ${config.file}` : section,
    json: {
      account: name,
      issuer,
      client_id: result.clientId,
      scope: result.scope,
      token_endpoint: result.tokenEndpoint,
      ...(mode === 'client-credentials'
        ? { client_secret_file: plan.secretFile }
        : { password_file: plan.passwordFile, credential_file: plan.credentialFile }),
      section,
      written: wrote,
    },
  };
}

async function configForSetup(
  args: ParsedArgs,
  io: CliIO,
): Promise<{ config: RenewerConfig; configExists: boolean }> {
  // A broken section elsewhere does not stop the setup of this account (planSetup checks its own).
  const { config, exists } = await loadConfigIfExists(args, io, { collect: true });
  return { config, configExists: exists };
}

async function readSecretFile(path: string): Promise<Secret> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new TokenwardenError(
      'USAGE',
      `--client-secret-file ${path}: ${(cause as NodeJS.ErrnoException).code}`,
    );
  }
  const line = text.split('\n')[0]?.trim() ?? '';
  if (line === '') throw new TokenwardenError('USAGE', `--client-secret-file ${path} is empty`);
  return new Secret(line);
}

/** The account password: the first line of the password file; undefined when there is no such file. */
async function readPassword(path: string): Promise<Secret | undefined> {
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  const line = text.split('\n')[0] ?? '';
  if (line === '') throw new TokenwardenError('PASSWORD_FILE', `password file ${path} is empty`);
  return new Secret(line);
}

/** A new password file holding a random password. */
async function createPasswordFile(path: string, io: CliIO): Promise<Secret> {
  const password = randomBytes(32).toString('base64url');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${password}\n`, { mode: 0o600 });
  io.err(`created password file ${path} (mode 0600); it decrypts the account: keep it, back it up\n`);
  return new Secret(password);
}

/** Files a run may create that did not exist before it, and the missing directories above them. */
interface MissingPaths {
  files: string[];
  /** Deepest first. */
  dirs: string[];
}

async function noteMissingPaths(files: readonly string[]): Promise<MissingPaths> {
  const exists = (path: string) =>
    lstat(path).then(
      () => true,
      () => false,
    );
  const missing: MissingPaths = { files: [], dirs: [] };
  const dirs = new Set<string>();
  for (const file of files) {
    if (!(await exists(file))) missing.files.push(file);
    for (let dir = dirname(file); dir !== dirname(dir) && !(await exists(dir)); dir = dirname(dir))
      dirs.add(dir);
  }
  missing.dirs = [...dirs].sort((a, b) => b.length - a.length);
  return missing;
}

/**
 * Removes what a failed run created: the files that were missing before it, then the directories that
 * were, when empty (another run's file keeps its directory). Anything that existed before is never
 * touched, and neither are lock files (see acquireLock). Returns what was removed.
 */
async function removeCreatedPaths(missing: MissingPaths): Promise<string[]> {
  const removed: string[] = [];
  for (const path of missing.files) {
    await unlink(path).then(
      () => removed.push(path),
      () => undefined,
    );
  }
  for (const path of missing.dirs) {
    await rmdir(path).then(
      () => removed.push(`${path}/`),
      () => undefined,
    );
  }
  return removed;
}

async function writeSection(
  config: RenewerConfig,
  exists: boolean,
  name: string,
  section: string,
  io: CliIO,
): Promise<boolean> {
  const current: AccountConfig | undefined = config.accounts.get(name);
  if (current !== undefined) {
    io.err(`[account ${name}] is already in ${config.file}; left it as it is\n`);
    return false;
  }
  const text = exists ? await readFile(config.file, 'utf8') : '';
  const joined = `${text}${text === '' || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n'}${section}`;
  // Keep the owner and mode an admin gave the config; a new one is private (it may hold secrets).
  const st = exists ? await stat(config.file) : undefined;
  if (!exists) await mkdir(dirname(config.file), { recursive: true });
  await writeFileAtomic(
    config.file,
    joined,
    st ? { mode: st.mode & 0o777, uid: st.uid, gid: st.gid } : { mode: 0o600 },
  );
  return true;
}
