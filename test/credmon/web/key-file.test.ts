/** The CredD's key file: old-syntax ClassAds as credd.cpp writes them with sPrintAd. */
import assert from 'node:assert/strict';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  formatKeyFile,
  MAX_KEY_FILE_BYTES,
  parseKeyFile,
  readKeyFile,
} from '../../../src/credmon/key-file.js';
import { isTokenwardenError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/tmp.js';

/** Two ads as the CredD writes them for one submit (attribute order is the ClassAd's, not fixed). */
const CREDD_TEXT = [
  'Provider = "scitokens"',
  'LocalUser = "alice"',
  'Handle = ""',
  'Scopes = "read:/public, write:/home/alice"',
  'Audience = "https://ap.example.org"',
  'ClientId = "cid"',
  'ClientSecret = "s3cr\\"et-value"',
  'ReturnUrl = "https://ap.example.org/return/scitokens"',
  'AuthorizationUrl = "https://issuer.example.org/authorize"',
  'TokenUrl = "https://issuer.example.org/token"',
  '',
  'TokenUrl = "https://other.example.org/token"',
  'provider = "box"',
  'LOCALUSER = "alice"',
  'Handle = "analysis"',
  'Scopes = ""',
  'Audience = ""',
  'ClientId = "box-id"',
  'ClientSecret = ""',
  'ReturnUrl = "https://ap.example.org/return/box"',
  'AuthorizationUrl = "https://other.example.org/auth"',
  'Extra = 5',
  '',
].join('\n');

function assertConfigError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isTokenwardenError(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, message);
    return true;
  });
}

describe('parseKeyFile', () => {
  it('reads every ad, with case-insensitive names, empty strings and \\" escapes', () => {
    const ads = parseKeyFile(CREDD_TEXT, '/cred/abc');
    assert.equal(ads.length, 2);
    const [a, b] = ads as [(typeof ads)[0], (typeof ads)[0]];
    assert.equal(a.provider, 'scitokens');
    assert.equal(a.handle, '');
    assert.equal(a.credName, 'scitokens');
    assert.equal(a.label, 'scitokens');
    assert.equal(a.scopes, 'read:/public, write:/home/alice');
    assert.equal(a.audience, 'https://ap.example.org');
    assert.equal(a.clientSecret?.reveal(), 's3cr"et-value');
    assert.equal(a.tokenUrl, 'https://issuer.example.org/token');
    assert.equal(b.provider, 'box');
    assert.equal(b.handle, 'analysis');
    assert.equal(b.credName, 'box_analysis');
    assert.equal(b.label, 'box analysis');
    assert.equal(b.clientSecret, undefined);
    assert.equal(b.tokenUrl, 'https://other.example.org/token');
  });

  it('never shows the client secret: not in inspect, JSON or an error', () => {
    const ads = parseKeyFile(CREDD_TEXT, '/cred/abc');
    assert.ok(!inspect(ads, { depth: 5 }).includes('s3cr'));
    assert.ok(!JSON.stringify(ads).includes('s3cr'));
    assertConfigError(
      () => parseKeyFile('Provider = "a"\nLocalUser = "u"\nClientSecret = 7\n', 'f'),
      /^(?!.*7).*$/,
    );
  });

  it('round-trips what formatKeyFile writes, as the CredD writes it', () => {
    const text = formatKeyFile([
      { provider: 'wlcg', localUser: 'bob', scopes: 'a,b', clientSecret: 'x"y' },
      { provider: 'wlcg', handle: 'h', localUser: 'bob' },
    ]);
    assert.match(text, /^Provider = "wlcg"\n[\s\S]*\n\nProvider = "wlcg"\n/);
    const ads = parseKeyFile(text, 'f');
    assert.deepEqual(
      ads.map((a) => [a.label, a.localUser, a.scopes, a.clientSecret?.reveal()]),
      [
        ['wlcg', 'bob', 'a,b', 'x"y'],
        ['wlcg h', 'bob', '', undefined],
      ],
    );
  });

  it('refuses bad input naming the file, the line and the attribute', () => {
    assertConfigError(() => parseKeyFile('', '/cred/k'), /key file \/cred\/k: no ads/);
    assertConfigError(
      () => parseKeyFile('Provider "x"\n', '/cred/k'),
      /line 1: expected `Attribute = value`/,
    );
    assertConfigError(
      () => parseKeyFile('LocalUser = "a"\nProvider = "x\n', '/cred/k'),
      /line 2: attribute Provider: the quoted string/,
    );
    assertConfigError(
      () => parseKeyFile('LocalUser = "a"\n', 'k'),
      /line 1: the ad starting here has no Provider/,
    );
    assertConfigError(
      () => parseKeyFile('Provider = 3\nLocalUser = "a"\n', 'k'),
      /line 1: Provider is not a quoted string/,
    );
    assertConfigError(
      () => parseKeyFile('Provider = "a_b"\nLocalUser = "u"\n', 'k'),
      /Provider "a_b" is not a valid provider name/,
    );
    assertConfigError(
      () => parseKeyFile('Provider = "a"\nLocalUser = "../root"\n', 'k'),
      /LocalUser "..\/root" is not a valid user name/,
    );
    assertConfigError(
      () => parseKeyFile('Provider = "a"\nLocalUser = "u"\nHandle = "x/y"\n', 'k'),
      /Handle "x\/y" does not make a valid credential name/,
    );
    assertConfigError(
      () => parseKeyFile('Provider = "a"\nLocalUser = "u"\n\nProvider = "b"\nLocalUser = "v"\n', 'k'),
      /more than one LocalUser \(u, v\)/,
    );
    assertConfigError(
      () => parseKeyFile('Provider = "a"\nLocalUser = "u"\n\nProvider = "a"\nLocalUser = "u"\n', 'k'),
      /two ads for a/,
    );
    assertConfigError(() => parseKeyFile('x'.repeat(MAX_KEY_FILE_BYTES + 1), 'k'), /larger than/);
  });
});

describe('readKeyFile', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('reads a key file by its 64-hex name, and refuses other names, symlinks and oversized files', async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const key = 'ab'.repeat(32);
    await writeFile(join(tmp.dir, key), CREDD_TEXT, { mode: 0o640 });
    assert.equal((await readKeyFile(tmp.dir, key))?.length, 2);
    assert.equal(await readKeyFile(tmp.dir, 'cd'.repeat(32)), undefined);
    await assert.rejects(readKeyFile(tmp.dir, '../etc'), /64 lower-case hexadecimal digits/);
    await assert.rejects(readKeyFile(tmp.dir, 'AB'.repeat(32)), /64 lower-case hexadecimal digits/);
    const link = 'ef'.repeat(32);
    await symlink(join(tmp.dir, key), join(tmp.dir, link));
    await assert.rejects(readKeyFile(tmp.dir, link), (err: unknown) => isTokenwardenError(err));
    const big = '12'.repeat(32);
    await writeFile(join(tmp.dir, big), 'x'.repeat(MAX_KEY_FILE_BYTES + 10));
    await assert.rejects(readKeyFile(tmp.dir, big), (err: unknown) => isTokenwardenError(err));
  });
});
