import { createPublicKey } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { TokenwardenError } from '../errors.js';
import {
  createExclusively,
  generatePrivateKey,
  type SigningAlg,
  type SigningKey,
  signingKeyFrom,
} from '../signing/index.js';

export interface KeygenOptions {
  privateKeyPath: string;
  publicKeyPath: string;
  alg: SigningAlg;
  /** The key id to report; the JWK thumbprint (RFC 7638) when absent. */
  kid?: string | undefined;
}

/**
 * Generates a new key pair into two new files: the private key (SEC1 `EC PRIVATE KEY` or PKCS#1
 * `RSA PRIVATE KEY` PEM, 0600, the form HTCondor's local credmon reads) and the public key (SPKI PEM,
 * 0644). Never replaces a file: either path existing is refused before anything is written, and each
 * file is linked into place only if its name is still free (see createExclusively).
 */
export async function generateKeyFiles(opts: KeygenOptions): Promise<SigningKey> {
  for (const path of [opts.privateKeyPath, opts.publicKeyPath]) {
    if (await exists(path))
      throw new TokenwardenError('USAGE', `${path} exists: keygen never replaces a key`, {
        hint: 'choose new file names, or move the old key away first',
      });
  }
  if (opts.privateKeyPath === opts.publicKeyPath)
    throw new TokenwardenError('USAGE', 'the private and public key must be two different files');
  const privateKey = generatePrivateKey(opts.alg);
  const key = signingKeyFrom(privateKey, opts.alg, opts.kid, opts.privateKeyPath);
  const privatePem = privateKey.export({
    format: 'pem',
    type: opts.alg === 'ES256' ? 'sec1' : 'pkcs1',
  }) as string;
  const publicPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }) as string;
  if (!(await createExclusively(opts.privateKeyPath, privatePem, 0o600, 'private key')))
    throw new TokenwardenError(
      'USAGE',
      `${opts.privateKeyPath} appeared meanwhile: keygen never replaces a key`,
    );
  if (!(await createExclusively(opts.publicKeyPath, publicPem, 0o644, 'public key')))
    throw new TokenwardenError(
      'USAGE',
      `${opts.publicKeyPath} appeared meanwhile: the new private key ${opts.privateKeyPath} is kept, but has no public key file`,
    );
  return key;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new TokenwardenError(
      'USAGE',
      `cannot check ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
