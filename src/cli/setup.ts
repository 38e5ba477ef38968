import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AccountConfig, RenewerConfig } from '../config/index.js';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists, writeFileAtomic } from '../files/index.js';
import type { AudienceParam } from '../oidc/index.js';
import { Secret } from '../secret.js';
import { createAccount, type LoginFlow, type SetupMode, type SetupResult } from '../setup/index.js';
import { createFileStore } from '../store/index.js';
import { formatDuration, splitList } from '../tokens/index.js';
import { boolOpt, type CliIO, type Command, type ParsedArgs, secondsOpt, stringOpt } from './command.js';
import { promptSecret } from './prompt.js';
import { CONFIG_OPTION, JSON_OPTION, lockFile } from './shared.js';

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
  const name = args.positionals[0];
  if (name === undefined || args.positionals.length > 1 || !/^[A-Za-z0-9._+=-]+$/.test(name)) {
    throw new TokenwardenError('USAGE', 'setup needs one ACCOUNT name (letters, digits, . _ + = -)', {
      hint: 'run `tokenwarden setup --help`',
    });
  }
  const { config, configExists } = await configForSetup(args, io);
  const existing = config.accounts.get(name);
  const mode: SetupMode = boolOpt(args, 'client-credentials')
    ? 'client-credentials'
    : boolOpt(args, 'manual')
      ? 'manual'
      : 'dynamic';
  const flow = (stringOpt(args, 'flow') ?? 'device') as LoginFlow;
  if (flow !== 'device' && flow !== 'code') {
    throw new TokenwardenError('USAGE', `--flow ${JSON.stringify(flow)}: use device or code`);
  }
  const issuer = stringOpt(args, 'issuer') ?? existing?.issuer;
  if (!issuer) {
    throw new TokenwardenError('USAGE', `setup ${name}: which issuer?`, {
      hint: `give --issuer URL, or set issuer in [account ${name}] of the config`,
    });
  }
  const audienceParam = (stringOpt(args, 'audience-param') ?? existing?.audienceParam) as
    | AudienceParam
    | undefined;
  if (audienceParam !== undefined && audienceParam !== 'audience' && audienceParam !== 'resource') {
    throw new TokenwardenError('USAGE', '--audience-param: use audience or resource');
  }
  const scope = splitList(stringOpt(args, 'scope') ?? DEFAULT_SCOPE);
  if (mode !== 'client-credentials' && !scope.includes('offline_access')) scope.push('offline_access');
  const timeout = secondsOpt(args, 'timeout', 600);
  const clientId =
    stringOpt(args, 'client-id') ?? (existing?.kind === 'client_credentials' ? existing.clientId : undefined);
  if (mode === 'manual' && !clientId)
    throw new TokenwardenError('USAGE', 'setup --manual needs --client-id ID');
  const secretFile = stringOpt(args, 'client-secret-file');
  let clientSecret: Secret | undefined;
  if (clientId !== undefined && (mode === 'manual' || mode === 'client-credentials')) {
    clientSecret = secretFile
      ? await readSecretFile(secretFile)
      : io.env.TOKENWARDEN_CLIENT_SECRET
        ? new Secret(io.env.TOKENWARDEN_CLIENT_SECRET)
        : await promptSecret(io, `client secret for ${clientId}: `);
  }

  const passwordFile =
    stringOpt(args, 'password-file') ??
    (existing?.kind === 'refresh' ? existing.passwordFile : join(config.stateDir, `${name}.pw`));
  const credentialFile =
    existing?.kind === 'refresh'
      ? existing.credentialFile
      : join(config.stateDir, 'accounts', `${name}.cred`);
  const password = mode === 'client-credentials' ? undefined : await ensurePassword(passwordFile, io);
  const store = createFileStore({
    credentialFile: () => credentialFile,
    lockFile: (a) => lockFile(config.stateDir, a),
    password: async () => password ?? new Secret(''),
  });
  const signal = AbortSignal.timeout(timeout * 1000);
  let result: SetupResult;
  try {
    result = await createAccount({
      account: name,
      issuer,
      mode,
      flow,
      scope,
      clientId,
      clientSecret,
      audienceParam,
      store,
      ctx: { timeoutSeconds: existing?.timeoutSeconds ?? 30 },
      signal,
      onDeviceCode: async (auth) => {
        io.err(`To log in to ${issuer}, open ${auth.verificationUri} and enter the code: ${auth.userCode}\n`);
        if (auth.verificationUriComplete) io.err(`(or open ${auth.verificationUriComplete})\n`);
        io.err(`Waiting for the login (the code expires in ${formatDuration(auth.expiresIn)})...\n`);
        await hooks.onUserCode?.(auth.userCode);
      },
      onAuthorizationUrl: async (url) => {
        io.err(`To log in to ${issuer}, open this URL in a browser on this machine:\n  ${url.href}\n`);
        await hooks.onAuthorizationUrl?.(url);
      },
    });
  } finally {
    await store.close();
  }

  const lines = [`[account ${name}]`];
  let savedSecretFile: string | undefined;
  if (mode === 'client-credentials') {
    savedSecretFile = secretFile ?? join(config.stateDir, `${name}.secret`);
    if (!secretFile && result.clientSecret) {
      await mkdir(dirname(savedSecretFile), { recursive: true, mode: 0o700 });
      await writeFileAtomic(savedSecretFile, `${result.clientSecret.reveal()}\n`, { mode: 0o600 });
      io.err(`saved the client secret in ${savedSecretFile} (mode 0600)\n`);
    }
    lines.push(`token_request_url = ${result.tokenEndpoint}`, `client_id = ${result.clientId}`);
    lines.push(`client_secret_file = ${savedSecretFile}`, `issuer = ${issuer}`);
  } else {
    lines.push(`password_file = ${passwordFile}`, `issuer = ${issuer}`);
    if (existing?.kind === 'refresh' && existing.credentialFile !== credentialFile) {
      lines.push(`credential_file = ${credentialFile}`);
    }
  }
  if (audienceParam) lines.push(`audience_param = ${audienceParam}`);
  const section = `${lines.join('\n')}\n`;
  let wrote = false;
  if (boolOpt(args, 'write')) wrote = await writeSection(config, configExists, name, section, io);
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
        ? { client_secret_file: savedSecretFile }
        : { password_file: passwordFile }),
      ...(mode === 'client-credentials' ? {} : { credential_file: credentialFile }),
      section,
      written: wrote,
    },
  };
}

async function configForSetup(
  args: ParsedArgs,
  io: CliIO,
): Promise<{ config: RenewerConfig; configExists: boolean }> {
  const { findConfigPath, loadRenewerConfig, parseIni, resolveRenewerConfig } = await import(
    '../config/index.js'
  );
  const path = findConfigPath({ cliPath: stringOpt(args, 'config'), env: io.env });
  const ctx = { file: path, env: io.env, uid: io.uid, home: io.home };
  if ((await readFileIfExists(path)) === undefined) {
    return { config: resolveRenewerConfig(parseIni('', path), ctx), configExists: false };
  }
  return {
    config: await loadRenewerConfig({ path, env: io.env, uid: io.uid, home: io.home }),
    configExists: true,
  };
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

/** The account password: the first line of the password file, created with a random one if absent. */
async function ensurePassword(path: string, io: CliIO): Promise<Secret> {
  const text = await readFileIfExists(path);
  if (text !== undefined) {
    const line = text.split('\n')[0] ?? '';
    if (line === '') throw new TokenwardenError('PASSWORD_FILE', `password file ${path} is empty`);
    return new Secret(line);
  }
  const password = randomBytes(32).toString('base64url');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${password}\n`, { mode: 0o600 });
  io.err(`created password file ${path} (mode 0600); it decrypts the account: keep it, back it up\n`);
  return new Secret(password);
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
