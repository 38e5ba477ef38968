import { isAbsolute, join, resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { isLoopbackUrl } from '../oidc/loopback.js';
import { Secret } from '../secret.js';
import {
  ACCOUNT_OPTIONS,
  DEFAULT_AUDIENCE_PARAM,
  DEFAULT_GRANT,
  DEFAULT_MIN_LIFETIME,
  DEFAULT_NEWLINE,
  DEFAULT_ROOT_STATE_DIR,
  DEFAULT_SECTION_OPTIONS,
  DEFAULT_TIMEOUT_SECONDS,
  DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
  TOKEN_OPTIONS,
} from './defaults.js';
import { configError } from './errors.js';
import { DEFAULT_SECTION, getOption, type IniDocument, type IniSection, type IniValue } from './ini.js';
import type {
  AccountBase,
  AccountConfig,
  BrokenToken,
  ClientCredentialsAccountConfig,
  ConfigProblem,
  RefreshAccountConfig,
  RenewerConfig,
  TokenConfig,
  WebhookConfig,
} from './types.js';

/** What the resolution depends on besides the file: the environment and the user running it. */
export interface ResolveContext {
  file: string;
  env: Record<string, string | undefined>;
  uid: number;
  home: string;
}

type SectionKind = 'account' | 'token';

interface KindedSection {
  kind: SectionKind;
  name: string;
  section: IniSection;
}

/** Options that make an account a client-credentials one; `password_file` makes it a refresh one. */
const CLIENT_CREDENTIALS_OPTIONS = ['token_request_url', 'client_id', 'client_secret', 'client_secret_file'];
const BOOLEAN_WORDS: Record<string, boolean> = {
  '1': true,
  yes: true,
  true: true,
  on: true,
  '0': false,
  no: false,
  false: false,
  off: false,
};
const MAX_ID = 4294967294;

/** How resolveRenewerConfig treats a semantic error in one section. */
export interface ResolveOptions {
  /**
   * false (the default): throw the first problem, as every command that needs the whole config wants.
   * true: record each problem in `problems`, leave the sections it breaks out of `accounts`/`tokens`,
   * and list the tokens it breaks in `brokenTokens` (renew and status go on with the others).
   */
  collect?: boolean;
}

/**
 * Resolves a parsed config.ini (osg-token-renewer's format plus our additions) into the renewer config:
 * every section and option checked, defaults filled in, the result deeply frozen. Pure: it reads no file
 * (password files are checked by `checkAccountFiles`). Each message is one line naming the file, the
 * line, the section and the option. A problem in one section breaks only that section (and, for an
 * account, the tokens that use it): see ResolveOptions. A problem that concerns every section (the
 * state directory) is always thrown.
 */
export function resolveRenewerConfig(
  doc: IniDocument,
  ctx: ResolveContext,
  options: ResolveOptions = {},
): RenewerConfig {
  // In the order they are found, which is the order the first of them used to be thrown in.
  const problems: ConfigProblem[] = [];
  const { sections, duplicates } = checkSections(doc, problems);
  let stateDir: string;
  let webhook: WebhookConfig | undefined;
  try {
    stateDir = resolveStateDir(doc, ctx);
    webhook = resolveWebhook(doc);
  } catch (err) {
    throw options.collect || problems[0] === undefined ? err : problems[0].error;
  }
  const accounts = new Map<string, AccountConfig>();
  const brokenAccounts = new Map<string, TokenwardenError>();
  for (const [key, error] of duplicates) {
    const [kind, name] = key.split(' ') as [SectionKind, string];
    if (kind === 'account') brokenAccounts.set(name, error);
  }
  for (const s of sections) {
    if (s.kind !== 'account' || brokenAccounts.has(s.name)) continue;
    try {
      accounts.set(s.name, resolveAccount(doc, s, stateDir));
    } catch (err) {
      const error = asConfigError(err);
      problems.push({ kind: 'account', name: s.name, line: lineOf(error, s.section.line), error });
      brokenAccounts.set(s.name, error);
    }
  }
  const tokens: TokenConfig[] = [];
  const brokenTokens: BrokenToken[] = [];
  const byPath = new Map<string, TokenConfig>();
  const breakToken = (s: KindedSection, error: TokenwardenError) => {
    const account = rawOption(doc, s.section, 'account');
    const path = rawOption(doc, s.section, 'token_path');
    brokenTokens.push({
      name: s.name,
      line: s.section.line,
      ...(account ? { account } : {}),
      ...(path && isAbsolute(path) ? { tokenPath: path } : {}),
      error,
    });
  };
  for (const [key, error] of duplicates) {
    const [kind, name] = key.split(' ') as [SectionKind, string];
    const first = sections.find((s) => s.kind === kind && s.name === name);
    if (kind === 'token' && first !== undefined) breakToken(first, error);
  }
  for (const s of sections) {
    if (s.kind !== 'token' || duplicates.has(`token ${s.name}`)) continue;
    const accountName = rawOption(doc, s.section, 'account');
    const accountError = accountName === undefined ? undefined : brokenAccounts.get(accountName);
    if (accountError !== undefined) {
      // The token's own section may be fine: it fails with the error of the account it needs.
      breakToken(s, accountError);
      continue;
    }
    try {
      const token = resolveToken(doc, s, accounts);
      const other = byPath.get(resolve(token.tokenPath));
      if (other !== undefined) {
        throw configError(
          doc.file,
          token.line,
          `token ${token.name}`,
          `token_path ${token.tokenPath} is also the token_path of [token ${other.name}] (line ${other.line})`,
          'each [token] needs a file of its own',
        );
      }
      byPath.set(resolve(token.tokenPath), token);
      tokens.push(token);
    } catch (err) {
      const error = asConfigError(err);
      problems.push({ kind: 'token', name: s.name, line: lineOf(error, s.section.line), error });
      breakToken(s, error);
    }
  }
  if (!options.collect && problems[0] !== undefined) throw problems[0].error;
  problems.sort((a, b) => a.line - b.line);
  brokenTokens.sort((a, b) => a.line - b.line);
  for (const p of problems) Object.freeze(p);
  for (const b of brokenTokens) Object.freeze(b);
  return Object.freeze({
    file: ctx.file,
    stateDir,
    ...(webhook === undefined ? {} : { webhook }),
    accounts: freezeMap(accounts),
    tokens: Object.freeze(tokens),
    problems: Object.freeze(problems),
    brokenAccounts: freezeMap(brokenAccounts),
    brokenTokens: Object.freeze(brokenTokens),
  });
}

/** An option's value for messages and grouping only: undefined when it cannot be read (bad interpolation). */
function rawOption(doc: IniDocument, section: IniSection, option: string): string | undefined {
  try {
    return getOption(doc, section, option)?.value;
  } catch {
    return undefined;
  }
}

/** The error a section check threw; anything else is a bug and goes on up. */
function asConfigError(err: unknown): TokenwardenError {
  if (err instanceof TokenwardenError) return err;
  throw err;
}

/** The line a config message names (`FILE line N: ...`), else the section's. */
function lineOf(error: TokenwardenError, fallback: number): number {
  const m = / line (\d+): /.exec(error.message);
  return m ? Number(m[1]) : fallback;
}

/**
 * Every section is `[account NAME]` or `[token NAME]` (osg-token-renewer's rule), each at most once.
 * Returns the sound ones; a header that is neither kind, or a bad NAME, is a problem and left out; a
 * repeated section is a problem that breaks every section of that name (which one was meant?).
 */
function checkSections(
  doc: IniDocument,
  problems: ConfigProblem[],
): { sections: KindedSection[]; duplicates: Map<string, TokenwardenError> } {
  const out: KindedSection[] = [];
  const seen = new Map<string, IniSection>();
  const duplicates = new Map<string, TokenwardenError>();
  for (const section of doc.sections) {
    const words = section.name.trim().split(/\s+/);
    const [kind, name] = words;
    if (words.length !== 2 || (kind !== 'account' && kind !== 'token') || name === undefined) {
      problems.push({
        kind: undefined,
        name: section.name,
        line: section.line,
        error: configError(
          doc.file,
          section.line,
          undefined,
          `section [${section.name}] is not [account NAME] or [token NAME]`,
          'config.ini has only [DEFAULT], [account NAME] and [token NAME] sections (names are case-sensitive)',
        ),
      });
      continue;
    }
    // NAME becomes part of file names (credential records, status files).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (name === '.' || name === '..' || /[/\u0000-\u001f\u007f]/.test(name)) {
      problems.push({
        kind,
        name,
        line: section.line,
        error: configError(
          doc.file,
          section.line,
          undefined,
          `section [${kind} ${name}]: NAME must not contain "/" or control characters, nor be "." or ".."`,
        ),
      });
      continue;
    }
    const key = `${kind} ${name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      const error = configError(
        doc.file,
        section.line,
        undefined,
        `duplicate section [${key}] (first at line ${first.line})`,
      );
      problems.push({ kind, name, line: section.line, error });
      if (!duplicates.has(key)) duplicates.set(key, error);
      continue;
    }
    seen.set(key, section);
    out.push({ kind, name, section });
  }
  return { sections: out, duplicates };
}

/** $TOKENWARDEN_STATE_DIR, then `state_dir` of [DEFAULT], then the per-user default. */
function resolveStateDir(doc: IniDocument, ctx: ResolveContext): string {
  const fromEnv = ctx.env.TOKENWARDEN_STATE_DIR;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isAbsolute(fromEnv)) {
      throw configError(
        '$TOKENWARDEN_STATE_DIR',
        undefined,
        undefined,
        `${JSON.stringify(fromEnv)} is not an absolute path`,
      );
    }
    return fromEnv;
  }
  const configured = getOption(doc, doc.defaults, 'state_dir');
  if (configured !== undefined && configured.value !== '') {
    if (!isAbsolute(configured.value)) {
      throw configError(
        doc.file,
        configured.line,
        DEFAULT_SECTION,
        `state_dir = ${JSON.stringify(configured.value)} is not an absolute path`,
      );
    }
    return configured.value;
  }
  if (ctx.uid === 0) return DEFAULT_ROOT_STATE_DIR;
  // XDG Base Directory: a relative $XDG_STATE_HOME is invalid and ignored.
  const xdg = ctx.env.XDG_STATE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'tokenwarden');
  if (!isAbsolute(ctx.home)) {
    throw configError(
      doc.file,
      undefined,
      undefined,
      'cannot choose a state directory: the home directory is unknown',
      'set state_dir in [DEFAULT], or $TOKENWARDEN_STATE_DIR',
    );
  }
  return join(ctx.home, '.local', 'state', 'tokenwarden');
}

/**
 * `webhook_url` and `webhook_timeout` of [DEFAULT]. The URL is held as a Secret and never quoted in a
 * message (a webhook URL often carries a token); it must be https, or http on loopback, like every URL
 * here. A bad value concerns the whole file, as state_dir does.
 */
function resolveWebhook(doc: IniDocument): WebhookConfig | undefined {
  const fail = (line: number, detail: string, hint?: string): never => {
    throw configError(doc.file, line, DEFAULT_SECTION, detail, hint);
  };
  const timeout = getOption(doc, doc.defaults, 'webhook_timeout');
  let timeoutSeconds = DEFAULT_WEBHOOK_TIMEOUT_SECONDS;
  if (timeout !== undefined && timeout.value !== '') {
    const n = Number(timeout.value);
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(timeout.value) || !Number.isFinite(n) || n <= 0) {
      fail(
        timeout.line,
        `webhook_timeout = ${JSON.stringify(timeout.value)} is not a positive number of seconds`,
      );
    }
    timeoutSeconds = n;
  }
  const value = getOption(doc, doc.defaults, 'webhook_url', { secret: true });
  if (value === undefined || value.value === '') return undefined;
  // Not quoted in any message below: the value may hold a token.
  let url: URL | undefined;
  if (!/\s/.test(value.value)) {
    try {
      url = new URL(value.value);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined) {
    return fail(
      value.line,
      'webhook_url is not a URL',
      /\s[#;]/.test(value.value)
        ? 'configparser keeps inline comments as part of the value: put the comment on a line of its own'
        : undefined,
    );
  }
  if (url.username !== '' || url.password !== '') {
    fail(
      value.line,
      'webhook_url must not contain a user name or password',
      'put a token in its path or query',
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    fail(value.line, 'webhook_url must use https (plain http only on loopback)');
  }
  return Object.freeze({ url: new Secret(value.value), timeoutSeconds });
}

/** Reads the options of one section, failing with messages that name it. */
class SectionReader {
  readonly label: string;

  constructor(
    readonly doc: IniDocument,
    readonly section: IniSection,
    kind: SectionKind,
    readonly name: string,
  ) {
    this.label = `${kind} ${name}`;
  }

  fail(line: number, detail: string, hint?: string): never {
    throw configError(this.doc.file, line, this.label, detail, hint);
  }

  /** The option (own or from [DEFAULT]); an empty value counts as not set, as in osg-token-renewer. */
  optional(option: string, secret = false): IniValue | undefined {
    const value = getOption(this.doc, this.section, option, { secret });
    return value === undefined || value.value === '' ? undefined : value;
  }

  required(option: string, what: string, secret = false): IniValue {
    const value = getOption(this.doc, this.section, option, { secret });
    if (value === undefined) this.fail(this.section.line, `missing ${option} (${what})`);
    if (value.value === '') this.fail(value.line, `${option} is empty (${what})`);
    return value;
  }

  /** A bad value, quoted (never for secrets, whose values are not passed here). */
  bad(value: IniValue, expected: string, hint?: string): never {
    const inlineComment = /\s[#;]/.test(value.value)
      ? 'configparser keeps inline comments as part of the value: put the comment on a line of its own'
      : undefined;
    this.fail(
      value.line,
      `${value.name} = ${JSON.stringify(value.value)} ${expected}`,
      hint ?? inlineComment,
    );
  }

  /** Options written in the section itself must be known; those from [DEFAULT] are variables too. */
  checkKnown(
    valid: Readonly<Record<string, string>>,
    other: Readonly<Record<string, string>>,
    otherKind: string,
  ) {
    const kind = this.label.split(' ')[0] as string;
    for (const entry of this.section.entries.values()) {
      if (Object.hasOwn(valid, entry.name)) continue;
      if (Object.hasOwn(DEFAULT_SECTION_OPTIONS, entry.name)) {
        this.fail(entry.line, `${entry.name} is read from [DEFAULT] only`, `move ${entry.name} to [DEFAULT]`);
      }
      this.fail(
        entry.line,
        `unknown option ${entry.name}; valid options for [${kind} NAME]: ${Object.keys(valid).join(', ')}`,
        Object.hasOwn(other, entry.name)
          ? `${entry.name} belongs in [${otherKind} NAME] sections`
          : undefined,
      );
    }
  }
}

function resolveAccount(doc: IniDocument, s: KindedSection, stateDir: string): AccountConfig {
  const r: SectionReader = new SectionReader(doc, s.section, 'account', s.name);
  r.checkKnown(ACCOUNT_OPTIONS, TOKEN_OPTIONS, 'token');
  const kind = accountKind(r);
  const issuer = r.optional('issuer');
  const base: AccountBase = {
    name: s.name,
    line: s.section.line,
    ...(issuer === undefined ? {} : { issuer: httpUrl(r, issuer) }),
    audienceParam: oneOf(r, 'audience_param', ['audience', 'resource'] as const, DEFAULT_AUDIENCE_PARAM),
    timeoutSeconds: positiveSeconds(r, 'timeout', DEFAULT_TIMEOUT_SECONDS),
  };

  if (kind === 'refresh') {
    const credentialFile = r.optional('credential_file');
    const account: RefreshAccountConfig = {
      ...base,
      kind,
      passwordFile: absolutePath(r, r.required('password_file', ACCOUNT_OPTIONS.password_file)),
      credentialFile:
        credentialFile === undefined
          ? join(stateDir, 'accounts', `${s.name}.cred`)
          : absolutePath(r, credentialFile),
    };
    return Object.freeze(account);
  }

  const ownCredentialFile = s.section.entries.get('credential_file');
  if (ownCredentialFile !== undefined) {
    r.fail(ownCredentialFile.line, 'credential_file applies only to password_file accounts');
  }
  const tokenRequestUrl = httpUrl(r, r.required('token_request_url', ACCOUNT_OPTIONS.token_request_url));
  const clientId = r.required('client_id', ACCOUNT_OPTIONS.client_id).value;
  const secret = r.optional('client_secret', true);
  const secretFile = r.optional('client_secret_file');
  if (secret !== undefined && secretFile !== undefined) {
    r.fail(Math.max(secret.line, secretFile.line), 'set client_secret or client_secret_file, not both');
  }
  if (secret === undefined && secretFile === undefined) {
    r.fail(
      s.section.line,
      'missing client_secret or client_secret_file (the client secret of a client-credentials account)',
      'client_secret_file keeps the secret out of config.ini',
    );
  }
  const account: ClientCredentialsAccountConfig = {
    ...base,
    kind,
    tokenRequestUrl,
    clientId,
    ...(secret === undefined ? {} : { clientSecret: new Secret(secret.value) }),
    ...(secretFile === undefined ? {} : { clientSecretFile: absolutePath(r, secretFile) }),
  };
  return Object.freeze(account);
}

/**
 * `password_file` makes a refresh-token account; `token_request_url`/`client_id`/`client_secret(_file)`
 * a client-credentials one. What the section itself sets decides; [DEFAULT] only when it sets neither.
 */
function accountKind(r: SectionReader): AccountConfig['kind'] {
  const decide = (entries: ReadonlyMap<string, { line: number }>, where: string) => {
    const refresh = entries.get('password_file');
    const clientCredentials = CLIENT_CREDENTIALS_OPTIONS.filter((o) => entries.has(o));
    if (refresh !== undefined && clientCredentials.length > 0) {
      const lines = [refresh.line, ...clientCredentials.map((o) => entries.get(o)?.line ?? 0)];
      r.fail(
        where === 'section' ? Math.max(...lines) : r.section.line,
        `password_file (a refresh-token account) cannot be mixed with ${clientCredentials.join(', ')} ` +
          `(a client-credentials account)${where === 'section' ? '' : ', all set in [DEFAULT]'}`,
        'an account is one kind or the other: split it into two [account] sections',
      );
    }
    if (refresh !== undefined) return 'refresh' as const;
    if (clientCredentials.length > 0) return 'client_credentials' as const;
    return undefined;
  };
  const kind = decide(r.section.entries, 'section') ?? decide(r.doc.defaults.entries, 'defaults');
  if (kind === undefined) {
    r.fail(
      r.section.line,
      'missing password_file (a refresh-token account) or token_request_url, client_id and client_secret ' +
        '(a client-credentials account)',
      `run: tokenwarden setup ${r.name} --write`,
    );
  }
  return kind;
}

function resolveToken(
  doc: IniDocument,
  s: KindedSection,
  accounts: ReadonlyMap<string, AccountConfig>,
): TokenConfig {
  const r: SectionReader = new SectionReader(doc, s.section, 'token', s.name);
  r.checkKnown(TOKEN_OPTIONS, ACCOUNT_OPTIONS, 'account');
  const accountValue = r.required('account', TOKEN_OPTIONS.account);
  const account = accounts.get(accountValue.value);
  if (account === undefined) {
    r.fail(
      accountValue.line,
      `missing [account ${accountValue.value}] section`,
      `add it (tokenwarden setup ${accountValue.value} --write), or fix account =`,
    );
  }
  const pathValue = r.required('token_path', TOKEN_OPTIONS.token_path);
  const tokenPath = absolutePath(r, pathValue);
  if (tokenPath.endsWith('/')) r.bad(pathValue, 'names a directory, not a file');
  const grant = oneOf(r, 'grant', ['refresh', 'exchange'] as const, DEFAULT_GRANT);
  if (grant === 'exchange' && account.kind !== 'refresh') {
    r.fail(
      r.optional('grant')?.line ?? s.section.line,
      `grant = exchange needs a password_file account, and [account ${account.name}] is a client-credentials one`,
    );
  }
  const owner = r.optional('owner');
  const group = r.optional('group');
  const token: TokenConfig = {
    name: s.name,
    line: s.section.line,
    account: account.name,
    tokenPath,
    audience: list(r.optional('audience')),
    scope: list(r.optional('scope')),
    minLifetime: wholeSeconds(r, 'min_lifetime', DEFAULT_MIN_LIFETIME),
    ...(owner === undefined ? {} : { owner: principal(r, owner, 'a user name or numeric uid') }),
    ...(group === undefined ? {} : { group: principal(r, group, 'a group name or numeric gid') }),
    ...optionalMode(fileMode(r)),
    newline: boolean(r, 'newline', DEFAULT_NEWLINE),
    grant,
  };
  Object.freeze(token.audience);
  Object.freeze(token.scope);
  return Object.freeze(token);
}

function absolutePath(r: SectionReader, value: IniValue): string {
  if (!isAbsolute(value.value)) r.bad(value, 'is not an absolute path');
  // configparser keeps `path ; comment` whole; a file named like that is a mistake, not a wish.
  if (/\s[#;]/.test(value.value)) r.bad(value, 'holds what looks like an inline comment');
  return value.value;
}

function httpUrl(r: SectionReader, value: IniValue): string {
  // new URL() would percent-encode the spaces of `https://x/ ; comment` and accept it.
  if (/\s/.test(value.value)) r.bad(value, 'is not a URL (it contains whitespace)');
  let url: URL;
  try {
    url = new URL(value.value);
  } catch {
    r.bad(value, 'is not a URL');
  }
  if (url.username !== '' || url.password !== '') {
    // Not quoted: the value holds a credential.
    r.fail(value.line, `${value.name} must not contain a user name or password`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') r.bad(value, 'is not an https:// URL');
  // Checked here, before any network call, not at the first request of a run.
  if (url.protocol === 'http:' && !isLoopbackUrl(url))
    r.bad(value, 'must use https (plain http only on loopback)');
  return value.value;
}

function oneOf<T extends string>(r: SectionReader, option: string, allowed: readonly T[], fallback: T): T {
  const value = r.optional(option);
  if (value === undefined) return fallback;
  const word = value.value.toLowerCase();
  const found = allowed.find((a) => a === word);
  if (found === undefined) r.bad(value, `is not one of ${allowed.join(', ')}`);
  return found;
}

/** A non-negative whole number of seconds (what `oidc-token --time` accepts). */
function wholeSeconds(r: SectionReader, option: string, fallback: number): number {
  const value = r.optional(option);
  if (value === undefined) return fallback;
  const n = Number(value.value);
  if (!/^\d+$/.test(value.value) || !Number.isSafeInteger(n)) {
    r.bad(value, 'is not a whole number of seconds (0 or more)');
  }
  return n;
}

function positiveSeconds(r: SectionReader, option: string, fallback: number): number {
  const value = r.optional(option);
  if (value === undefined) return fallback;
  const n = Number(value.value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value.value) || !Number.isFinite(n) || n <= 0) {
    r.bad(value, 'is not a positive number of seconds');
  }
  return n;
}

/** configparser's `getboolean` words. */
function boolean(r: SectionReader, option: string, fallback: boolean): boolean {
  const value = r.optional(option);
  if (value === undefined) return fallback;
  const b = BOOLEAN_WORDS[value.value.toLowerCase()];
  if (b === undefined) r.bad(value, 'is not a boolean (true/false, yes/no, on/off, 1/0)');
  return b;
}

function optionalMode(mode: number | undefined): { mode?: number } {
  return mode === undefined ? {} : { mode };
}

/** Octal, like chmod: `0600`, `640`, `0o640`; at most 0777 and never world-writable. */
function fileMode(r: SectionReader): number | undefined {
  const value = r.optional('mode');
  // Unset: an existing token file keeps its mode, a new one gets 0600 (DEFAULT_TOKEN_MODE).
  if (value === undefined) return undefined;
  const match = /^(?:0o)?([0-7]{1,4})$/i.exec(value.value);
  if (match === null) r.bad(value, 'is not an octal file mode like 0600');
  const mode = Number.parseInt(match[1] as string, 8);
  if (mode > 0o777) r.bad(value, 'has setuid, setgid or sticky bits; a token file needs at most 0777');
  if ((mode & 0o002) !== 0)
    r.bad(value, 'lets every user write the token file', 'use 0600, or 0640 with group');
  return mode;
}

/** A user or group as written: a name, or a numeric id. Resolved to an id when the file is written. */
function principal(r: SectionReader, value: IniValue, expected: string): string {
  const v = value.value;
  if (/^\d+$/.test(v)) {
    if (Number(v) > MAX_ID) r.bad(value, `is not ${expected} (ids go up to ${MAX_ID})`);
    return v;
  }
  if (v.length > 256 || !/^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/.test(v)) r.bad(value, `is not ${expected}`);
  return v;
}

/** A space-separated list (continuation lines included), without repeats. */
function list(value: IniValue | undefined): string[] {
  if (value === undefined) return [];
  return [...new Set(value.value.split(/\s+/).filter((w) => w !== ''))];
}

/** A Map that refuses changes at run time too, not only in its type. */
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = () => {
    throw new TypeError('the resolved config is read-only');
  };
  Object.defineProperties(map, {
    set: { value: refuse },
    delete: { value: refuse },
    clear: { value: refuse },
  });
  return Object.freeze(map);
}

/**
 * The account a command needs, from a config resolved with `collect`: the account when its section is
 * sound, undefined when there is no such section, and its own error (not another section's) when its
 * section is broken.
 */
export function accountOrError(config: RenewerConfig, name: string): AccountConfig | undefined {
  const error = config.brokenAccounts.get(name);
  if (error !== undefined) throw error;
  return config.accounts.get(name);
}
