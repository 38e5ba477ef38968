import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint } from 'jose';
import { TokenwardenError } from '../../src/errors.js';
import { ensureKeyPair, loadSigningKey } from '../../src/signing/index.js';
import { tempDir } from '../helpers/tmp.js';

const SIGNING = fileURLToPath(new URL('../../src/signing/index.js', import.meta.url));

/** Writes a PEM private key file (mode 0600 unless told). */
async function writeKey(path: string, pem: string, mode = 0o600): Promise<void> {
  await writeFile(path, pem, { mode });
  await chmod(path, mode);
}

function ecPem(type: 'sec1' | 'pkcs8', curve = 'P-256'): string {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({
    format: 'pem',
    type,
  }) as string;
}

function rsaPem(type: 'pkcs1' | 'pkcs8', bits = 2048): string {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({
    format: 'pem',
    type,
  }) as string;
}

/** The base64 body of a PEM: what must never appear in a message. */
function bodyOf(pem: string): string {
  return pem.split('\n').slice(1, 3).join('');
}

async function refusal(promise: Promise<unknown>): Promise<TokenwardenError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TokenwardenError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('signing keys', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('ensureKeyPair creates a P-256 pair: SEC1 private 0600, SPKI public 0644, then keeps it', async () => {
    const priv = join(dir, 'scitokens-private.pem');
    const pub = join(dir, 'scitokens.pem');
    assert.deepEqual(await ensureKeyPair(priv, pub, { alg: 'ES256' }), { created: true });
    assert.equal((await stat(priv)).mode & 0o777, 0o600);
    assert.equal((await stat(pub)).mode & 0o777, 0o644);
    const privText = await readFile(priv, 'utf8');
    const pubText = await readFile(pub, 'utf8');
    // The header HTCondor's local credmon checks for ES256.
    assert.match(privText, /^-----BEGIN EC PRIVATE KEY-----\n/);
    assert.match(pubText, /^-----BEGIN PUBLIC KEY-----\n/);
    const key = await loadSigningKey(priv, { alg: 'ES256', kid: 'local' });
    assert.equal(
      createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' }),
      pubText,
      'the public key is the private key’s',
    );
    assert.deepEqual(await ensureKeyPair(priv, pub, { alg: 'ES256' }), { created: false });
    assert.equal(await readFile(priv, 'utf8'), privText, 'an existing key is never replaced');
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ['scitokens-private.pem', 'scitokens.pem'],
      'no temp file is left behind',
    );
  });

  it('ensureKeyPair removes the temp files a killed key creation left, and only those', async () => {
    const stale = join(dir, '.scitokens-private.pem.0123456789ab.tmp');
    const fresh = join(dir, '.scitokens-private.pem.ba9876543210.tmp');
    const other = join(dir, '.notes.tmp');
    for (const f of [stale, fresh, other]) await writeFile(f, 'partial', { mode: 0o600 });
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await utimes(other, twoHoursAgo, twoHoursAgo);
    await ensureKeyPair(join(dir, 'scitokens-private.pem'), join(dir, 'scitokens.pem'), { alg: 'ES256' });
    assert.deepEqual((await readdir(dir)).sort(), [
      '.notes.tmp',
      '.scitokens-private.pem.ba9876543210.tmp',
      'scitokens-private.pem',
      'scitokens.pem',
    ]);
  });

  it('ensureKeyPair makes an RS256 pair as PKCS#1 "RSA PRIVATE KEY"', async () => {
    const priv = join(dir, 'rsa.pem');
    await ensureKeyPair(priv, join(dir, 'rsa.pub'), { alg: 'RS256' });
    assert.match(await readFile(priv, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const key = await loadSigningKey(priv, { alg: 'RS256', kid: 'r' });
    assert.equal(key.privateKey.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('derives a missing public key from the existing private key', async () => {
    const priv = join(dir, 'k.pem');
    const pub = join(dir, 'k.pub');
    const pem = ecPem('sec1');
    await writeKey(priv, pem);
    assert.deepEqual(await ensureKeyPair(priv, pub, { alg: 'ES256' }), { created: false });
    assert.equal(await readFile(pub, 'utf8'), createPublicKey(pem).export({ format: 'pem', type: 'spki' }));
    assert.equal((await stat(pub)).mode & 0o777, 0o644);
  });

  it('refuses a public key that does not match, or one without its private key, and creates nothing', async () => {
    const priv = join(dir, 'k.pem');
    const pub = join(dir, 'k.pub');
    await writeFile(pub, createPublicKey(ecPem('sec1')).export({ format: 'pem', type: 'spki' }));
    const orphan = await refusal(ensureKeyPair(priv, pub, { alg: 'ES256' }));
    assert.equal(orphan.code, 'CONFIG_INVALID');
    assert.equal(orphan.message, `public key ${pub} exists but its private key ${priv} does not`);
    assert.deepEqual(await readdir(dir), ['k.pub'], 'no private key was generated');

    await writeKey(priv, ecPem('sec1'));
    const mismatch = await refusal(ensureKeyPair(priv, pub, { alg: 'ES256' }));
    assert.equal(mismatch.message, `public key ${pub} does not match private key ${priv}`);
  });

  it('two processes creating the key at once: one creates it, both end with the same key', async () => {
    const script = `
      import { ensureKeyPair } from ${JSON.stringify(SIGNING)};
      const [priv, pub] = process.argv.slice(1);
      const r = await ensureKeyPair(priv, pub, { alg: 'ES256' });
      process.stdout.write(JSON.stringify(r));`;
    const runOne = (priv: string, pub: string) =>
      new Promise<{ created: boolean }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, priv, pub]);
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
        });
        child.stderr.on('data', (d: Buffer) => {
          err += d;
        });
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
      });
    for (let round = 0; round < 2; round++) {
      const sub = join(dir, `r${round}`);
      await mkdir(sub);
      const priv = join(sub, 'k.pem');
      const pub = join(sub, 'k.pub');
      const results = await Promise.all([runOne(priv, pub), runOne(priv, pub), runOne(priv, pub)]);
      assert.equal(results.filter((r) => r.created).length, 1, `round ${round}: exactly one creator`);
      const privText = await readFile(priv, 'utf8');
      assert.equal(
        await readFile(pub, 'utf8'),
        createPublicKey(privText).export({ format: 'pem', type: 'spki' }),
        'the public key matches the one private key',
      );
      assert.deepEqual((await readdir(sub)).sort(), ['k.pem', 'k.pub'], 'no temp files left');
    }
  });

  it('loads SEC1 and PKCS#8 EC keys, PKCS#1 and PKCS#8 RSA keys', async () => {
    const cases = [
      { pem: ecPem('sec1'), alg: 'ES256' as const, kty: 'EC' },
      { pem: ecPem('pkcs8'), alg: 'ES256' as const, kty: 'EC' },
      { pem: rsaPem('pkcs1'), alg: 'RS256' as const, kty: 'RSA' },
      { pem: rsaPem('pkcs8'), alg: 'RS256' as const, kty: 'RSA' },
    ];
    for (const [i, c] of cases.entries()) {
      const path = join(dir, `key${i}.pem`);
      await writeKey(path, c.pem);
      const key = await loadSigningKey(path, { alg: c.alg, kid: `k${i}` });
      assert.equal(key.alg, c.alg);
      assert.equal(key.kid, `k${i}`);
      assert.equal(key.publicJwk.kty, c.kty);
      assert.equal(key.publicJwk.kid, `k${i}`);
      assert.equal(key.publicJwk.alg, c.alg);
      assert.equal(key.publicJwk.use, 'sig');
      assert.equal(key.publicJwk.d, undefined, 'the public JWK holds no private part');
      // Without alg or kid: the key's kind and its RFC 7638 thumbprint.
      const bare = await loadSigningKey(path, {});
      assert.equal(bare.alg, c.alg);
      assert.equal(bare.kid, await calculateJwkThumbprint(bare.publicJwk));
    }
  });

  it('refuses the wrong key for the algorithm, non-keys, unsafe modes and links, naming the file, never quoting it', async () => {
    const ec = ecPem('sec1');
    const rsa = rsaPem('pkcs1');
    const p384 = ecPem('sec1', 'P-384');
    const cases: {
      name: string;
      content?: string;
      mode?: number;
      alg: 'ES256' | 'RS256';
      message: RegExp;
    }[] = [
      {
        name: 'ec-for-rs.pem',
        content: ec,
        alg: 'RS256',
        message: /is an EC key on prime256v1, but RS256 needs an RSA key/,
      },
      {
        name: 'rsa-for-es.pem',
        content: rsa,
        alg: 'ES256',
        message: /is an RSA key of 2048 bits, but ES256 needs an EC key on P-256/,
      },
      {
        name: 'p384.pem',
        content: p384,
        alg: 'ES256',
        message: /is an EC key on secp384r1, but ES256 needs an EC key on P-256/,
      },
      {
        name: 'small-rsa.pem',
        content: rsaPem('pkcs1', 1024),
        alg: 'RS256',
        message: /RSA key of 1024 bits, but RS256 needs an RSA key of at least 2048 bits/,
      },
      {
        name: 'group.pem',
        content: ec,
        mode: 0o640,
        alg: 'ES256',
        message: /is readable or writable by group or others \(mode 0640\)/,
      },
      {
        name: 'world.pem',
        content: ec,
        mode: 0o604,
        alg: 'ES256',
        message: /is readable or writable by group or others \(mode 0604\)/,
      },
      {
        name: 'public.pem',
        content: createPublicKey(ec).export({ format: 'pem', type: 'spki' }) as string,
        alg: 'ES256',
        message: /is not a PEM private key/,
      },
      {
        name: 'garbage.pem',
        content: `-----BEGIN EC PRIVATE KEY-----\n${bodyOf(ec).slice(0, 20)}AAAA\n-----END EC PRIVATE KEY-----\n`,
        alg: 'ES256',
        message: /is not a valid PEM private key/,
      },
      {
        name: 'missing.pem',
        alg: 'ES256',
        message: /cannot read private key .*missing\.pem: no such file or directory \(ENOENT\)/,
      },
    ];
    for (const c of cases) {
      const path = join(dir, c.name);
      if (c.content !== undefined) await writeKey(path, c.content, c.mode ?? 0o600);
      const err = await refusal(loadSigningKey(path, { alg: c.alg, kid: 'k' }));
      assert.equal(err.code, 'CONFIG_INVALID', c.name);
      assert.match(err.message, c.message, c.name);
      assert.ok(err.message.includes(path), `${c.name}: the message names the file`);
      for (const pem of [ec, rsa, p384])
        assert.ok(!err.message.includes(bodyOf(pem).slice(0, 24)), `${c.name}: no key bytes`);
      assert.equal(err.cause, undefined, `${c.name}: no cause carries OpenSSL's view of the key`);
    }
    const target = join(dir, 'real.pem');
    await writeKey(target, ec);
    await symlink(target, join(dir, 'link.pem'));
    const link = await refusal(loadSigningKey(join(dir, 'link.pem'), { alg: 'ES256', kid: 'k' }));
    assert.match(link.message, /cannot read private key .*link\.pem: .*ELOOP/);
    const badKid = await refusal(loadSigningKey(target, { alg: 'ES256', kid: 'two words' }));
    assert.match(badKid.message, /key id "two words" is not valid/);
  });
});
