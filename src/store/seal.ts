import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { TokenwardenError } from '../errors.js';
import type { Secret } from '../secret.js';
import { type AccountRecord, recordFromPayload, recordToPayload } from './record.js';

/**
 * Encryption at rest of one account record: scrypt (RFC 7914) turns the account's password into a key,
 * AES-256-GCM seals the record. The file is a small JSON envelope that records the KDF parameters (so
 * the cost can rise later without breaking old files), and the associated data binds the format,
 * version, account and KDF parameters, so a file copied to another account's name, or with its
 * parameters edited, fails to open like a wrong password does.
 */
export const ENVELOPE_FORMAT = 'tokenwarden-credential';
export const ENVELOPE_VERSION = 1;
const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;

export interface KdfParams {
  name: 'scrypt';
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelization. */
  p: number;
  /** Random per record; a new record gets a new salt. */
  salt: Buffer;
}

/** The tunable part of the KDF parameters. */
export type KdfCost = Pick<KdfParams, 'N' | 'r' | 'p'>;

/**
 * scrypt at N=2^15, r=8, p=1: 32 MiB of memory per derivation. The store derives a key once per account
 * per process, so this cost is paid at start-up, not per save.
 */
export const DEFAULT_KDF_COST: Readonly<KdfCost> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/**
 * For a password tokenwarden generated itself (`setup` writes 256 random bits to the password file):
 * stretching adds nothing to a key that cannot be guessed, and at the default cost a renew of many
 * accounts would spend most of its CPU deriving keys. Human-chosen passwords keep DEFAULT_KDF_COST.
 */
export const GENERATED_PASSWORD_KDF_COST: Readonly<KdfCost> = Object.freeze({ N: 2 ** 10, r: 8, p: 1 });

// Accepted when reading a file: low enough for fast tests, high enough that a planted file cannot ask
// for gigabytes of memory.
const MIN_N = 2 ** 10;
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 1024 ** 3;

/** Fresh KDF parameters (new random salt) at the given cost, or the default one. */
export function createKdfParams(cost: Partial<KdfCost> = {}): KdfParams {
  const params: KdfParams = {
    name: 'scrypt',
    N: cost.N ?? DEFAULT_KDF_COST.N,
    r: cost.r ?? DEFAULT_KDF_COST.r,
    p: cost.p ?? DEFAULT_KDF_COST.p,
    salt: randomBytes(SALT_BYTES),
  };
  const problem = kdfProblem(params);
  if (problem !== undefined)
    throw new TokenwardenError('STORE_INVALID', `unusable scrypt parameters: ${problem}`);
  return params;
}

/** The 256-bit AES key for `password` (scrypt runs on the libuv thread pool, not the event loop). */
export function deriveKey(password: Secret, kdf: KdfParams): Promise<Buffer> {
  const problem = kdfProblem(kdf);
  if (problem !== undefined) {
    return Promise.reject(new TokenwardenError('STORE_INVALID', `unusable scrypt parameters: ${problem}`));
  }
  const maxmem = 128 * kdf.r * (kdf.N + kdf.p + 2) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.reveal(), kdf.salt, KEY_BYTES, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, key) => {
      if (err) reject(new TokenwardenError('INTERNAL', `scrypt failed: ${err.message}`, { cause: err }));
      else resolve(key);
    });
  });
}

/** A parsed credential file: what is needed to derive the key and then open it. */
export interface SealedEnvelope {
  account: string;
  kdf: KdfParams;
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/** Seals `record` under `key` (derived with `kdf`) with a fresh random IV: the file's bytes. */
export function sealRecord(record: AccountRecord, key: Buffer, kdf: KdfParams): Buffer {
  if (key.length !== KEY_BYTES) throw new TokenwardenError('INTERNAL', 'the sealing key is not 256 bits');
  const plaintext = Buffer.from(JSON.stringify(recordToPayload(record)), 'utf8');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(record.account, kdf));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  const envelope = {
    format: ENVELOPE_FORMAT,
    version: ENVELOPE_VERSION,
    account: record.account,
    kdf: { name: kdf.name, N: kdf.N, r: kdf.r, p: kdf.p, salt: kdf.salt.toString('base64') },
    cipher: CIPHER,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return Buffer.from(`${JSON.stringify(envelope)}\n`, 'utf8');
}

/**
 * Parses a credential file meant for `account`. Anything malformed, or an envelope for another account,
 * fails with the one STORE_DECRYPT_FAILED message (the cause says what was wrong with the structure).
 */
export function parseEnvelope(bytes: string | Uint8Array, account: string): SealedEnvelope {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw decryptFailed(account, 'the file is not JSON');
  }
  if (!isObject(value)) throw decryptFailed(account, 'the file is not a JSON object');
  if (value.format !== ENVELOPE_FORMAT) throw decryptFailed(account, `the format is not ${ENVELOPE_FORMAT}`);
  if (value.version !== ENVELOPE_VERSION) throw decryptFailed(account, `unsupported envelope version`);
  if (value.account !== account) throw decryptFailed(account, 'the envelope names another account');
  if (value.cipher !== CIPHER) throw decryptFailed(account, `the cipher is not ${CIPHER}`);
  const kdf = value.kdf;
  if (!isObject(kdf) || kdf.name !== 'scrypt') throw decryptFailed(account, 'the kdf is not scrypt');
  const params: KdfParams = {
    name: 'scrypt',
    N: integer(kdf.N, 'kdf.N', account),
    r: integer(kdf.r, 'kdf.r', account),
    p: integer(kdf.p, 'kdf.p', account),
    salt: base64(kdf.salt, 'kdf.salt', account),
  };
  const problem = kdfProblem(params);
  if (problem !== undefined) throw decryptFailed(account, `unusable kdf parameters: ${problem}`);
  const iv = base64(value.iv, 'iv', account);
  const tag = base64(value.tag, 'tag', account);
  const data = base64(value.data, 'data', account);
  if (iv.length !== IV_BYTES) throw decryptFailed(account, `the iv is not ${IV_BYTES} bytes`);
  if (tag.length !== TAG_BYTES) throw decryptFailed(account, `the tag is not ${TAG_BYTES} bytes`);
  return { account, kdf: params, iv, tag, data };
}

/**
 * Opens a credential file (bytes or already parsed) for `account` with `key`. A wrong key and any
 * alteration give the same STORE_DECRYPT_FAILED error, with nothing about what failed.
 */
export function openRecord(
  sealed: string | Uint8Array | SealedEnvelope,
  key: Buffer,
  account: string,
): AccountRecord {
  const envelope = isEnvelope(sealed) ? sealed : parseEnvelope(sealed, account);
  if (envelope.account !== account) throw decryptFailed(account, 'the envelope names another account');
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv(CIPHER, key, envelope.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(account, envelope.kdf));
    decipher.setAuthTag(envelope.tag);
    plaintext = Buffer.concat([decipher.update(envelope.data), decipher.final()]);
  } catch {
    throw decryptFailed(account);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new TokenwardenError('STORE_INVALID', `the credential of account ${account} holds no JSON record`);
  } finally {
    plaintext.fill(0);
  }
  return recordFromPayload(payload, account);
}

/** The one message for a wrong password or an altered file: it must not help anyone tell them apart. */
export function decryptFailed(account: string, structureProblem?: string): TokenwardenError {
  return new TokenwardenError(
    'STORE_DECRYPT_FAILED',
    `cannot decrypt the credential for account ${account}: wrong password, or the file was altered`,
    {
      cause: structureProblem === undefined ? undefined : new Error(structureProblem),
      hint: `check the password file of account ${account}; if the credential was damaged, run setup --force for it again`,
    },
  );
}

function associatedData(account: string, kdf: KdfParams): Buffer {
  return Buffer.from(
    JSON.stringify([
      ENVELOPE_FORMAT,
      ENVELOPE_VERSION,
      account,
      CIPHER,
      kdf.name,
      kdf.N,
      kdf.r,
      kdf.p,
      kdf.salt.toString('base64'),
    ]),
    'utf8',
  );
}

function kdfProblem(kdf: KdfParams): string | undefined {
  const { N, r, p } = kdf;
  if (!Number.isSafeInteger(N) || N < MIN_N || N > MAX_N || (N & (N - 1)) !== 0) {
    return `N must be a power of two from 2^10 to 2^20`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_R) return `r must be from 1 to ${MAX_R}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) return `p must be from 1 to ${MAX_P}`;
  if (128 * N * r > MAX_MEMORY) return 'N × r asks for more than 1 GiB of memory';
  if (kdf.salt.length < SALT_BYTES || kdf.salt.length > 64)
    return `the salt must be ${SALT_BYTES} to 64 bytes`;
  return undefined;
}

function isEnvelope(value: string | Uint8Array | SealedEnvelope): value is SealedEnvelope {
  return typeof value === 'object' && !(value instanceof Uint8Array);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integer(value: unknown, field: string, account: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw decryptFailed(account, `${field} is not an integer`);
  }
  return value;
}

/** Strict base64: only the canonical encoding is accepted, so no two files decode to the same bytes. */
function base64(value: unknown, field: string, account: string): Buffer {
  if (typeof value !== 'string' || value === '') throw decryptFailed(account, `${field} is not base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw decryptFailed(account, `${field} is not base64`);
  return bytes;
}
