import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { JWK } from 'jose';
import { TokenwardenError } from '../errors.js';
import { describeError } from '../files/io-error.js';
import { jwkThumbprint } from './thumbprint.js';
import type { SigningAlg, SigningKey } from './types.js';

/** A PEM private key is a few kilobytes at most (RSA 4096 in PKCS#8 is ~3.3 KB). */
const MAX_KEY_BYTES = 64 * 1024;
/** kid: printable ASCII without blanks or quotes, short enough for a header and a log line. */
const KID = /^[\x21\x23-\x7e]{1,128}$/;

/**
 * Loads a PEM private key (SEC1 `EC PRIVATE KEY`, PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) and
 * checks it suits `alg` (ES256: an EC key on P-256; RS256: RSA of at least 2048 bits). Refused with
 * CONFIG_INVALID naming the file: unreadable, a symlink, not a regular file, readable or writable by group
 * or others, not a private key, the wrong kind of key. No message carries any byte of the key.
 * Without `alg`, the key's own kind decides (P-256: ES256, RSA: RS256); without `kid`, its JWK
 * Thumbprint (RFC 7638) is the key id.
 */
export async function loadSigningKey(
  privateKeyPath: string,
  opts: { alg?: SigningAlg | undefined; kid?: string | undefined },
): Promise<SigningKey> {
  if (opts.kid !== undefined) checkKid(opts.kid);
  const pem = await readPrivateKeyFile(privateKeyPath);
  const privateKey = parsePrivateKey(pem, privateKeyPath);
  const alg = opts.alg ?? algOf(privateKey, privateKeyPath);
  return signingKeyFrom(privateKey, alg, opts.kid, privateKeyPath);
}

/** The algorithm a key is for, when none is configured: ES256 for P-256, RS256 for RSA. */
export function algOf(key: KeyObject, path: string): SigningAlg {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new TokenwardenError(
    'CONFIG_INVALID',
    `private key ${path} is ${describeKey(key)}: only EC P-256 (ES256) and RSA (RS256) keys sign tokens here`,
  );
}

/** A SigningKey from a KeyObject already in memory (a key just generated), checked as loadSigningKey does. */
export function signingKeyFrom(
  privateKey: KeyObject,
  alg: SigningAlg,
  kid: string | undefined,
  path: string,
): SigningKey {
  checkKeySuitsAlg(privateKey, alg, path);
  const bare = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const id = kid ?? jwkThumbprint(bare);
  checkKid(id);
  const publicJwk: JWK = Object.freeze({ ...bare, kid: id, alg, use: 'sig' });
  return Object.freeze({ alg, kid: id, privateKey, publicJwk });
}

/** The public JWK of a private key, with `kid`, `alg` and `use: 'sig'` (what a JWKS document lists). */
export function publicJwkOf(privateKey: KeyObject, alg: SigningAlg, kid: string): JWK {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  return Object.freeze({ ...jwk, kid, alg, use: 'sig' });
}

export function checkKid(kid: string): void {
  if (!KID.test(kid))
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `key id ${JSON.stringify(kid.slice(0, 40))} is not valid: use 1 to 128 printable characters, no blanks or quotes`,
    );
}

async function readPrivateKeyFile(path: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new TokenwardenError('CONFIG_INVALID', `cannot read private key ${path}: ${describeError(err)}`, {
      hint: 'check the path and that this user may read it',
    });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new TokenwardenError('CONFIG_INVALID', `private key ${path} is not a regular file`);
    if ((stats.mode & 0o066) !== 0)
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `private key ${path} is readable or writable by group or others (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')})`,
        { hint: `run: chmod 600 ${path}` },
      );
    if (stats.size > MAX_KEY_BYTES)
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `private key ${path} is larger than ${MAX_KEY_BYTES} bytes: not a PEM private key`,
      );
    const buffer = Buffer.alloc(MAX_KEY_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_KEY_BYTES)
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `private key ${path} is larger than ${MAX_KEY_BYTES} bytes: not a PEM private key`,
      );
    const text = buffer.toString('utf8', 0, bytesRead);
    buffer.fill(0);
    return text;
  } finally {
    await handle.close();
  }
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  if (!/-----BEGIN (EC |RSA |)PRIVATE KEY-----/.test(pem))
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${path} is not a PEM private key (expected "BEGIN EC PRIVATE KEY", "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY")`,
    );
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // OpenSSL's message says nothing useful and no cause is kept: nothing of the key may travel on.
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${path} is not a valid PEM private key (it could not be parsed)`,
    );
  }
}

function checkKeySuitsAlg(key: KeyObject, alg: SigningAlg, path: string): void {
  const type = key.asymmetricKeyType;
  if (alg === 'ES256') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (type !== 'ec' || curve !== 'prime256v1')
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `private key ${path} is ${describeKey(key)}, but ES256 needs an EC key on P-256`,
        { hint: "generate one with `tokenwarden issuer keygen`, or set the algorithm to the key's" },
      );
  } else {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (type !== 'rsa' || bits < 2048)
      throw new TokenwardenError(
        'CONFIG_INVALID',
        `private key ${path} is ${describeKey(key)}, but RS256 needs an RSA key of at least 2048 bits`,
        {
          hint: "generate one with `tokenwarden issuer keygen --alg RS256`, or set the algorithm to the key's",
        },
      );
  }
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `an EC key on ${details?.namedCurve ?? 'an unknown curve'}`;
  if (key.asymmetricKeyType === 'rsa') return `an RSA key of ${details?.modulusLength ?? '?'} bits`;
  return `a ${key.asymmetricKeyType ?? 'unknown'} key`;
}
