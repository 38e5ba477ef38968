import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { findOidcAgentDir } from '../../config/oidc-agent-dir.js';
import { TokenwardenError } from '../../errors.js';
import { optionalSecret, type Secret } from '../../secret.js';
import { loadSodium, type Sodium } from './sodium.js';

/** An oidc-agent account configuration, decrypted. Secrets stay wrapped; `raw` holds the rest. */
export interface OidcAgentAccount {
  shortname: string;
  issuer: string;
  clientId: string;
  clientSecret?: Secret;
  refreshToken?: Secret;
  scope: string[];
  audience?: string;
  /** The file's non-secret fields as oidc-agent wrote them (snake_case). */
  raw: Record<string, unknown>;
}

/**
 * Key derivation and box parameters, line 4 of the file: `nonce_len:salt_len:mac_len:key_len:
 * base64_variant:opslimit:memlimit:alg` (oidc-agent's `struct cryptParameter`).
 */
interface CryptParameters {
  nonceLen: number;
  saltLen: number;
  macLen: number;
  keyLen: number;
  opsLimit: number;
  memLimit: number;
  alg: number;
}

/**
 * oidc-agent ≥ 2.1.0 (src/utils/crypt/crypt.c `crypt_encrypt` + cryptUtils.c `encryptWithVersionLine`):
 * ```
 * 1 ciphertext length in bytes (plaintext + 16)
 * 2 nonce, base64 (24 bytes)
 * 3 salt, base64 (16 bytes)
 * 4 parameters, e.g. 24:16:16:32:1:2:67108864:2
 * 5 ciphertext, base64 (crypto_secretbox_easy)
 * 6 "hash key", base64: the second half of the Argon2 output, stored to recognise a wrong password
 * 7 Generated using version: 4.2.6
 * ```
 * The key is `crypto_pwhash(2 * key_len, password, salt, ops, mem, alg)`: first half encrypts, second
 * half is line 6.
 */
interface Base64File {
  format: 'base64';
  cipherLen: number;
  nonce: Buffer;
  salt: Buffer;
  params: CryptParameters;
  cipher: Buffer;
  hashKey: Buffer;
}

/**
 * Before 2.1.0 (src/utils/crypt/hexCrypt.c): one line `cipher_len:salt_hex:nonce_hex:cipher_hex`, a
 * 32-byte key from crypto_pwhash with the parameters of the libsodium the file was written with, and no
 * hash key, so oidc-agent tries both known parameter sets.
 */
interface HexFile {
  format: 'hex';
  cipherLen: number;
  salt: Buffer;
  nonce: Buffer;
  cipher: Buffer;
}

type AccountFile = Base64File | HexFile;

const ARGON2I13 = 1;
const ARGON2ID13 = 2;
/** libsodium18 (Debian stretch, Ubuntu xenial) and libsodium23 defaults, hexCrypt.c's LEG18/LEG23. */
const LEGACY_PARAMETERS: KdfParameters[] = [
  { opsLimit: 4, memLimit: 33554432, alg: ARGON2I13 },
  { opsLimit: 2, memLimit: 67108864, alg: ARGON2ID13 },
];
/** Bounds on parameters read from a file, so a crafted file cannot make Argon2 take minutes or gigabytes. */
const MAX_OPSLIMIT = 10;
const MAX_MEMLIMIT = 1024 * 1024 * 1024;
const MIN_BASE64_VERSION = [2, 1, 0];
/** Account files are a few kilobytes; anything much larger is not one. */
const MAX_FILE_CHARS = 1024 * 1024;

/** Fields never copied into `raw`: credentials, the password flow's password, tokens. */
const SECRET_FIELD = /secret|password|passwd|(^|_)(access|refresh|id)_token$|^token$/i;

const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

function invalid(path: string, detail: string): TokenwardenError {
  return new TokenwardenError('STORE_INVALID', `oidc-agent account file ${path} is not valid: ${detail}`);
}

function decryptFailed(path: string): TokenwardenError {
  return new TokenwardenError('STORE_DECRYPT_FAILED', `cannot decrypt oidc-agent account file ${path}`, {
    hint: 'check the password (the one given to oidc-gen); the file may also have been modified',
  });
}

function decodeB64(value: string, bytes: number, path: string, line: number): Buffer {
  const buf = B64.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (!buf || buf.length !== bytes) throw invalid(path, `line ${line} is not ${bytes} bytes of base64`);
  return buf;
}

function parseVersion(line: string | undefined): number[] | undefined {
  const m = line === undefined ? null : /(\d+)\.(\d+)\.(\d+)/.exec(line);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function versionAtLeast(version: number[], min: number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = version[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

function parseParameters(line: string, path: string): CryptParameters {
  const fields = line.split(':');
  if (fields.length !== 8 || !fields.every((f) => /^\d{1,12}$/.test(f))) {
    throw invalid(path, 'line 4 is not a parameter line (8 numbers separated by colons)');
  }
  const [nonceLen, saltLen, macLen, keyLen, variant, opsLimit, memLimit, alg] = fields.map(Number);
  // XSalsa20-Poly1305 secretbox and an Argon2 salt admit only these sizes.
  if (nonceLen !== 24 || saltLen !== 16 || macLen !== 16 || keyLen !== 32) {
    throw invalid(path, 'unsupported encryption parameters on line 4');
  }
  if (![1, 3, 5, 7].includes(variant)) throw invalid(path, 'unknown base64 variant on line 4');
  if (alg !== ARGON2I13 && alg !== ARGON2ID13)
    throw invalid(path, 'unknown key derivation algorithm on line 4');
  if (opsLimit < 1 || opsLimit > MAX_OPSLIMIT || memLimit < 8192 || memLimit > MAX_MEMLIMIT) {
    throw invalid(path, 'key derivation limits on line 4 are out of range');
  }
  return { nonceLen, saltLen, macLen, keyLen, opsLimit, memLimit, alg };
}

/** Parses the encrypted file's layout (no decryption): the first step of readOidcAgentAccount. */
export function parseOidcAgentAccountFile(content: string, path: string): AccountFile {
  if (content.startsWith('-----BEGIN PGP MESSAGE-----')) {
    throw new TokenwardenError('STORE_INVALID', `oidc-agent account file ${path} is encrypted with GPG`, {
      hint: 'tokenwarden reads only password-encrypted account files; re-create it with oidc-gen --pw-prompt',
    });
  }
  const lines = content.replace(/\s+$/, '').split(/\r?\n/);
  const version = lines.length > 1 ? parseVersion(lines[lines.length - 1]) : undefined;
  if (version && versionAtLeast(version, MIN_BASE64_VERSION)) {
    if (lines.length < 7) throw invalid(path, `expected 7 lines, found ${lines.length}`);
    const [lenLine = '', nonceLine = '', saltLine = '', paramLine = '', cipherLine = '', hashLine = ''] =
      lines;
    if (!/^\d{1,9}$/.test(lenLine)) throw invalid(path, 'line 1 is not a length');
    const params = parseParameters(paramLine, path);
    const cipherLen = Number(lenLine);
    if (cipherLen < params.macLen) throw invalid(path, 'line 1 is shorter than the MAC');
    return {
      format: 'base64',
      cipherLen,
      nonce: decodeB64(nonceLine, params.nonceLen, path, 2),
      salt: decodeB64(saltLine, params.saltLen, path, 3),
      params,
      cipher: decodeB64(cipherLine, cipherLen, path, 5),
      hashKey: decodeB64(hashLine, params.keyLen, path, 6),
    };
  }
  const parts = (lines[0] ?? '').split(':');
  if (lines.length === 1 && parts.length === 4) {
    const [lenPart = '', saltHex = '', nonceHex = '', cipherHex = ''] = parts;
    const cipherLen = /^\d{1,9}$/.test(lenPart) ? Number(lenPart) : 0;
    const hex = (s: string, bytes: number, what: string) => {
      if (!HEX.test(s) || s.length !== 2 * bytes)
        throw invalid(path, `the ${what} is not ${bytes} bytes of hex`);
      return Buffer.from(s, 'hex');
    };
    if (cipherLen < 16) throw invalid(path, 'bad ciphertext length');
    return {
      format: 'hex',
      cipherLen,
      salt: hex(saltHex, 16, 'salt'),
      nonce: hex(nonceHex, 24, 'nonce'),
      cipher: hex(cipherHex, cipherLen, 'ciphertext'),
    };
  }
  throw invalid(path, 'not an oidc-agent encrypted account file');
}

type KdfParameters = Pick<CryptParameters, 'opsLimit' | 'memLimit' | 'alg'>;

function deriveKey(
  sodium: Sodium,
  bytes: number,
  password: Secret,
  salt: Buffer,
  p: KdfParameters,
  path: string,
): Uint8Array {
  const pw = Buffer.from(password.reveal(), 'utf8');
  try {
    return sodium.crypto_pwhash(bytes, pw, salt, p.opsLimit, p.memLimit, p.alg);
  } catch {
    // libsodium refuses e.g. Argon2i with fewer than 3 passes; its error text carries nothing useful.
    throw invalid(path, 'libsodium refused the key derivation parameters on line 4');
  } finally {
    pw.fill(0);
  }
}

function openBox(sodium: Sodium, cipher: Buffer, nonce: Buffer, key: Uint8Array): Uint8Array | undefined {
  try {
    return sodium.crypto_secretbox_open_easy(cipher, nonce, key);
  } catch {
    return undefined;
  }
}

/** Decrypts a parsed account file: the plaintext (JSON) bytes, or STORE_DECRYPT_FAILED. */
export function decryptOidcAgentAccountFile(
  sodium: Sodium,
  file: AccountFile,
  password: Secret,
  path: string,
): Uint8Array {
  if (file.format === 'base64') {
    const { keyLen } = file.params;
    const derived = deriveKey(sodium, 2 * keyLen, password, file.salt, file.params, path);
    try {
      const encryptionKey = derived.subarray(0, keyLen);
      const hashKey = derived.subarray(keyLen);
      if (!sodium.memcmp(hashKey, file.hashKey)) throw decryptFailed(path);
      const plain = openBox(sodium, file.cipher, file.nonce, encryptionKey);
      if (!plain) throw decryptFailed(path);
      return plain;
    } finally {
      sodium.memzero(derived);
    }
  }
  for (const params of LEGACY_PARAMETERS) {
    const key = deriveKey(sodium, 32, password, file.salt, params, path);
    try {
      const plain = openBox(sodium, file.cipher, file.nonce, key);
      if (plain) return plain;
    } finally {
      sodium.memzero(key);
    }
  }
  throw decryptFailed(path);
}

function words(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
}

/** Maps decrypted account JSON to an OidcAgentAccount, validating the fields tokenwarden needs. */
export function toOidcAgentAccount(json: Record<string, unknown>, path: string): OidcAgentAccount {
  const str = (field: string) => {
    const v = json[field];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const issuer = str('issuer_url') ?? str('issuer');
  if (!issuer) throw invalid(path, 'the account has no issuer_url');
  const clientId = str('client_id');
  if (!clientId) throw invalid(path, 'the account has no client_id');
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!SECRET_FIELD.test(k)) raw[k] = v;
  const account: OidcAgentAccount = {
    shortname: str('name') ?? str('shortname') ?? basename(path),
    issuer,
    clientId,
    scope: words(json.scope),
    raw,
  };
  const clientSecret = optionalSecret(str('client_secret'));
  const refreshToken = optionalSecret(str('refresh_token'));
  const audience = words(json.audience).join(' ');
  if (clientSecret) account.clientSecret = clientSecret;
  if (refreshToken) account.refreshToken = refreshToken;
  if (audience) account.audience = audience;
  return account;
}

/**
 * Reads and decrypts an oidc-agent account configuration file (what `oidc-gen` writes, password-encrypted),
 * formats of oidc-agent 2.1.0 to 4.x and the older hex format. Argon2 runs synchronously: ~0.2 s with the
 * default parameters (64 MiB), during which this thread does nothing else.
 */
export async function readOidcAgentAccount(path: string, password: Secret): Promise<OidcAgentAccount> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TokenwardenError(
      code === 'ENOENT' ? 'STORE_NOT_FOUND' : 'FILE_IO',
      code === 'ENOENT' ? `oidc-agent account file ${path} does not exist` : `cannot read ${path} (${code})`,
      { cause: err },
    );
  }
  if (content.length > MAX_FILE_CHARS) throw invalid(path, 'too large for an account file');
  const file = parseOidcAgentAccountFile(content, path);
  const sodium = await loadSodium();
  const plain = decryptOidcAgentAccountFile(sodium, file, password, path);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(plain).toString('utf8'));
  } catch {
    json = undefined;
  } finally {
    sodium.memzero(plain);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid(path, 'the decrypted content is not a JSON object');
  }
  return toOidcAgentAccount(json as Record<string, unknown>, path);
}

const isFile = (path: string) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** An account name is a file name in oidc-agent's directory: no path separators, not "." or "..". */
export function checkOidcAgentAccountName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new TokenwardenError('USAGE', `invalid oidc-agent account name ${JSON.stringify(name)}`);
  }
}

/**
 * Where oidc-agent keeps account NAME: in its configuration directory, which is the FIRST of
 * `$OIDC_CONFIG_DIR`, `~/.config/oidc-agent`, `~/.oidc-agent` that exists as a directory (oidc-agent's
 * `getOidcDir()`; later locations are not searched). Undefined when there is no such directory or the
 * file is not in it.
 */
export function findOidcAgentAccountFile(
  name: string,
  env: Record<string, string | undefined>,
  home: string,
): string | undefined {
  checkOidcAgentAccountName(name);
  const dir = findOidcAgentDir(env, home);
  if (!dir) return undefined;
  const path = join(dir, name);
  return isFile(path) ? path : undefined;
}
