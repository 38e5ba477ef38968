import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeyFiles } from '../../src/issuer/index.js';
import {
  loadSigningKey,
  type MintRequest,
  mintToken,
  type SigningKey,
  signingKeyFrom,
} from '../../src/signing/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { runXrootd, type XrootdAnswer } from '../helpers/xrootd.js';

const ISSUER = 'https://issuer.test.local';
const AUD = 'https://xrootd.test.local';
const ANY = 'https://wlcg.cern.ch/jwt/v1/any';

/**
 * A real XRootD with the SciTokens plugin serves a file to a token of the local issuer, in the SciTokens
 * profile (`read:/data`) and the WLCG profile (`storage.read:/data`), and refuses one outside its path,
 * its audience or its signature. One server start for the whole file (see test/helpers/xrootd.ts).
 */
describe('XRootD serves files to local issuer tokens', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let key: SigningKey;
  let answers: Record<string, XrootdAnswer>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const privateKeyPath = join(dir, 'k.pem');
    await generateKeyFiles({ privateKeyPath, publicKeyPath: join(dir, 'k.pub'), alg: 'ES256', kid: 'local' });
    key = await loadSigningKey(privateKeyPath, { kid: 'local' });
    const now = Math.floor(Date.now() / 1000);
    const req = (over: Partial<MintRequest> = {}): MintRequest => ({
      issuer: ISSUER,
      subject: 'alice',
      scope: 'read:/data',
      audience: [AUD],
      lifetimeSeconds: 1200,
      version: 'scitoken:2.0',
      nowSeconds: now,
      ...over,
    });
    const sci = mintToken(key, req());
    const wlcg = mintToken(key, req({ version: 'wlcg', scope: 'storage.read:/data' }));
    const other = signingKeyFrom(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      'ES256',
      'local',
      'x',
    );
    // One token from the CLI, written as a token file, as a script would use it.
    const cli = await runCli([
      'issuer',
      'mint',
      '--private-key',
      privateKeyPath,
      '--kid',
      'local',
      '--issuer',
      ISSUER,
      '--sub',
      'bob',
      '--scope',
      'storage.read:/data',
      '--aud',
      ANY,
      '--profile',
      'wlcg',
      '-o',
      join(dir, 'bt'),
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const fromCli = (await readFile(join(dir, 'bt'), 'utf8')).trim();
    answers = await runXrootd({
      issuer: ISSUER,
      audiences: [AUD, ANY],
      basePath: '/store',
      publicKeyFile: join(dir, 'k.pub'),
      kid: 'local',
      seedToken: sci,
      files: { 'store/data/file.txt': 'hello from xrootd\n', 'store/private/secret.txt': 'not yours\n' },
      requests: [
        { name: 'sci', path: '/store/data/file.txt', token: sci },
        { name: 'sci-outside', path: '/store/private/secret.txt', token: sci },
        {
          name: 'sci-wrong-aud',
          path: '/store/data/file.txt',
          token: mintToken(key, req({ audience: ['https://other.example'] })),
        },
        { name: 'wlcg', path: '/store/data/file.txt', token: wlcg },
        { name: 'wlcg-outside', path: '/store/private/secret.txt', token: wlcg },
        { name: 'wlcg-any-cli', path: '/store/data/file.txt', token: fromCli },
        { name: 'forged', path: '/store/data/file.txt', token: mintToken(other, req()) },
        {
          name: 'expired',
          path: '/store/data/file.txt',
          token: mintToken(key, req({ nowSeconds: now - 3600, lifetimeSeconds: 600 })),
        },
        { name: 'none', path: '/store/data/file.txt' },
      ],
    });
  });
  after(async () => {
    await cleanup();
  });

  it('serves the file to a SciTokens token (read:/data) and a WLCG token (storage.read:/data)', () => {
    assert.deepEqual(answers.sci, { status: 200, body: 'hello from xrootd\n' });
    assert.deepEqual(answers.wlcg, { status: 200, body: 'hello from xrootd\n' });
    assert.equal(
      answers['wlcg-any-cli']?.status,
      200,
      'a token minted by `issuer mint -o` for any WLCG audience',
    );
  });

  it('refuses outside the path, the audience, the key or the lifetime, and without a token', () => {
    for (const name of ['sci-outside', 'sci-wrong-aud', 'wlcg-outside', 'forged', 'expired', 'none']) {
      assert.equal(answers[name]?.status, 403, name);
      assert.doesNotMatch(answers[name]?.body ?? '', /not yours|hello/, name);
    }
  });
});
