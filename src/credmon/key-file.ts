import { join } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import { Secret } from '../secret.js';
import { isValidProviderName, isValidUserName, KEY_FILE_NAME_RE, parseCredName } from './names.js';

/**
 * The CredD's key file: `<credDir>/<64 hex>`, written by the CredD (`check_creds`) when a job asks for
 * OAuth2 tokens the user has none of, and named in the URL condor_submit prints
 * (`<CREDMON_WEB_PREFIX>/key/<64 hex>`). It holds one ClassAd per missing token, in the old ClassAd
 * syntax as `sPrintAd` writes it: `Attr = value` lines, ads separated by a blank line, strings quoted
 * with `"` and only `\"` escaped (old syntax keeps every other backslash as it is). The CredD writes every
 * attribute of the list below for every ad, empty strings included; attribute names are
 * case-insensitive, as in every ClassAd.
 */

/** Largest key file read: a few ads of a few hundred bytes each. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
/** Most ads (providers) taken from one key file. */
export const MAX_KEY_FILE_ADS = 64;

/** One ad of a key file: one token the user is asked to log in for. */
export interface KeyFileAd {
  /** `Provider`: the service name (`<P>` of the `<P>_CLIENT_ID` knobs). */
  provider: string;
  /** `Handle`: empty for the provider's default token. */
  handle: string;
  /** `LocalUser`: whose directory of the credential directory gets the tokens. */
  localUser: string;
  /** `Scopes` as the CredD wrote it: comma-separated, possibly with blanks. */
  scopes: string;
  /** `Audience` as the CredD wrote it. */
  audience: string;
  /** `ClientId` (`<P>_CLIENT_ID`). */
  clientId: string;
  /** `ClientSecret` (the content of `<P>_CLIENT_SECRET_FILE`): used for the code exchange, never shown or copied. */
  clientSecret: Secret | undefined;
  /** `ReturnUrl`: `CREDMON_WEB_PREFIX` + `<P>_RETURN_URL_SUFFIX`, the redirect URI. */
  returnUrl: string;
  /** `AuthorizationUrl` (`<P>_AUTHORIZATION_URL`). */
  authorizationUrl: string;
  /** `TokenUrl` (`<P>_TOKEN_URL`). */
  tokenUrl: string;
  /** The credential file stem: `<Provider>` or `<Provider>_<Handle>`. */
  credName: string;
  /** What the login page calls it and the login URL names: `<Provider> <Handle>` (or just `<Provider>`). */
  label: string;
}

const ATTRIBUTES = {
  provider: 'Provider',
  handle: 'Handle',
  localUser: 'LocalUser',
  scopes: 'Scopes',
  audience: 'Audience',
  clientId: 'ClientId',
  clientSecret: 'ClientSecret',
  returnUrl: 'ReturnUrl',
  authorizationUrl: 'AuthorizationUrl',
  tokenUrl: 'TokenUrl',
} as const;

const ATTR_LINE = /^([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*(.*?)[ \t]*$/;

type Value = { kind: 'string'; text: string } | { kind: 'other'; text: string };

/** The label the Flask app gave a provider and handle (`' '.join((provider, handle)).rstrip(' ')`). */
export function providerLabel(provider: string, handle: string): string {
  return handle === '' ? provider : `${provider} ${handle}`;
}

/** Where a key file is: the name is checked (64 lower-case hex digits) before any path is built. */
export function keyFilePath(credDir: string, keyId: string): string {
  if (!KEY_FILE_NAME_RE.test(keyId))
    throw new TokenwardenError('USAGE', 'a key is 64 lower-case hexadecimal digits');
  return join(credDir, keyId);
}

/**
 * Parses the text of a key file (pure). `file` names it in errors. Every ad must name a valid provider,
 * handle and local user, all ads the same user (the user is the session's, as in the Flask app); any
 * other attribute is kept out. Throws a TokenwardenError CONFIG_INVALID naming the file, the line and
 * the attribute; the ClientSecret's value is never quoted.
 */
export function parseKeyFile(text: string, file: string, allowSpecialCharNames = false): KeyFileAd[] {
  const fail = (line: number | undefined, message: string): never => {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `key file ${file}${line === undefined ? '' : ` line ${line}`}: ${message}`,
    );
  };
  if (text.length > MAX_KEY_FILE_BYTES) fail(undefined, `larger than ${MAX_KEY_FILE_BYTES} bytes`);
  const rawAds: Array<{ line: number; attrs: Map<string, { line: number; value: Value }> }> = [];
  let current: (typeof rawAds)[number] | undefined;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    if (line.trimStart().startsWith('#')) continue;
    const m = ATTR_LINE.exec(line);
    if (!m) fail(lineNo, 'expected `Attribute = value`');
    const [, name, valueText] = m as unknown as [string, string, string];
    if (current === undefined) {
      if (rawAds.length >= MAX_KEY_FILE_ADS) fail(lineNo, `more than ${MAX_KEY_FILE_ADS} ads`);
      current = { line: lineNo, attrs: new Map() };
      rawAds.push(current);
    }
    const value = parseValue(valueText);
    if (value === undefined)
      fail(lineNo, `attribute ${name}: the quoted string does not end where the line does`);
    current.attrs.set(name.toLowerCase(), { line: lineNo, value: value as Value });
  }
  if (rawAds.length === 0) fail(undefined, 'no ads');

  const ads = rawAds.map((raw) => {
    const get = (key: keyof typeof ATTRIBUTES, required: boolean): string => {
      const attr = ATTRIBUTES[key];
      const found = raw.attrs.get(attr.toLowerCase());
      if (found === undefined) {
        if (required) fail(raw.line, `the ad starting here has no ${attr}`);
        return '';
      }
      if (found.value.kind !== 'string') fail(found.line, `${attr} is not a quoted string`);
      return found.value.text;
    };
    const provider = get('provider', true);
    const handle = get('handle', false);
    const localUser = get('localUser', true);
    if (!isValidProviderName(provider, allowSpecialCharNames))
      fail(raw.line, `Provider ${JSON.stringify(provider)} is not a valid provider name`);
    if (!isValidUserName(localUser))
      fail(raw.line, `LocalUser ${JSON.stringify(localUser)} is not a valid user name`);
    const credName = handle === '' ? provider : `${provider}_${handle}`;
    const parsed = parseCredName(credName, allowSpecialCharNames);
    if (!parsed.ok || (allowSpecialCharNames && handle !== ''))
      fail(raw.line, `Handle ${JSON.stringify(handle)} does not make a valid credential name`);
    const secretText = get('clientSecret', false);
    return {
      provider,
      handle,
      localUser,
      scopes: get('scopes', false),
      audience: get('audience', false),
      clientId: get('clientId', false),
      clientSecret: secretText === '' ? undefined : new Secret(secretText),
      returnUrl: get('returnUrl', false),
      authorizationUrl: get('authorizationUrl', false),
      tokenUrl: get('tokenUrl', false),
      credName,
      label: providerLabel(provider, handle),
    } satisfies KeyFileAd;
  });
  const users = new Set(ads.map((a) => a.localUser));
  if (users.size > 1) fail(undefined, `its ads name more than one LocalUser (${[...users].join(', ')})`);
  const labels = new Set<string>();
  for (const ad of ads) {
    if (labels.has(ad.label)) fail(undefined, `two ads for ${ad.label}`);
    labels.add(ad.label);
  }
  return ads;
}

/**
 * One old-syntax ClassAd value: a quoted string (only `\"` is an escape), or anything else (a number,
 * a boolean, an expression) as text. undefined for a string whose closing quote is not the line's end.
 */
function parseValue(text: string): Value | undefined {
  if (!text.startsWith('"')) return { kind: 'other', text };
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && text[i + 1] === '"') {
      out += '"';
      i++;
      continue;
    }
    if (c === '"') return i === text.length - 1 ? { kind: 'string', text: out } : undefined;
    out += c;
  }
  return undefined;
}

/**
 * Reads and parses the key file `keyId` of the credential directory: undefined when there is none. A
 * name that is not 64 hex digits is refused before any path is built; a symlink, a FIFO or a file over
 * MAX_KEY_FILE_BYTES is refused (FILE_UNSAFE / FILE_IO), never followed or read whole.
 */
export async function readKeyFile(
  credDir: string,
  keyId: string,
  allowSpecialCharNames = false,
): Promise<KeyFileAd[] | undefined> {
  const path = keyFilePath(credDir, keyId);
  const text = await readFileIfExists(path, { maxBytes: MAX_KEY_FILE_BYTES });
  return text === undefined ? undefined : parseKeyFile(text, path, allowSpecialCharNames);
}

/**
 * A key file's text as the CredD writes it (sPrintAd in the old syntax, one blank line between ads),
 * for tests and fixtures. Every attribute is written, empty strings included, as the CredD does.
 */
export function formatKeyFile(
  ads: ReadonlyArray<{
    provider: string;
    handle?: string;
    localUser: string;
    scopes?: string;
    audience?: string;
    clientId?: string;
    clientSecret?: string;
    returnUrl?: string;
    authorizationUrl?: string;
    tokenUrl?: string;
  }>,
): string {
  const quote = (s: string) => `"${s.replaceAll('"', '\\"')}"`;
  return ads
    .map((ad) =>
      [
        `Provider = ${quote(ad.provider)}`,
        `LocalUser = ${quote(ad.localUser)}`,
        `Handle = ${quote(ad.handle ?? '')}`,
        `Scopes = ${quote(ad.scopes ?? '')}`,
        `Audience = ${quote(ad.audience ?? '')}`,
        `ClientId = ${quote(ad.clientId ?? '')}`,
        `ClientSecret = ${quote(ad.clientSecret ?? '')}`,
        `ReturnUrl = ${quote(ad.returnUrl ?? '')}`,
        `AuthorizationUrl = ${quote(ad.authorizationUrl ?? '')}`,
        `TokenUrl = ${quote(ad.tokenUrl ?? '')}`,
        '',
      ].join('\n'),
    )
    .join('\n');
}
