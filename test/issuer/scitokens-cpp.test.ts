import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
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
import { tempDir } from '../helpers/tmp.js';
import { exec } from '../helpers/xrootd.js';

/**
 * Tokens of the local issuer against scitokens-cpp 0.7 (Debian's scitokens-cpp tools), the library
 * XRootD and HTCondor verify with. Its key cache is seeded offline (`scitokens-verify --cred`), so the
 * issuer needs no https server here.
 */
const ISSUER = 'https://issuer.test.local';
const AUD = 'https://xrootd.test.local';

describe('local issuer tokens in scitokens-cpp', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let key: SigningKey;
  let env: Record<string, string>;
  const now = () => Math.floor(Date.now() / 1000);
  const req = (over: Partial<MintRequest> = {}): MintRequest => ({
    issuer: ISSUER,
    subject: 'alice',
    scope: 'read:/user/alice write:/user/alice',
    audience: [AUD],
    lifetimeSeconds: 1200,
    version: 'scitoken:2.0',
    nowSeconds: now(),
    ...over,
  });

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await generateKeyFiles({
      privateKeyPath: join(dir, 'k.pem'),
      publicKeyPath: join(dir, 'k.pub'),
      alg: 'ES256',
      kid: 'local',
    });
    key = await loadSigningKey(join(dir, 'k.pem'), { alg: 'ES256', kid: 'local' });
    env = { XDG_CACHE_HOME: join(dir, 'cache') };
    const seed = await exec(
      'scitokens-verify',
      ['--cred', join(dir, 'k.pub'), '--issuer', ISSUER, '--keyid', 'local', mintToken(key, req())],
      env,
    );
    assert.equal(seed.code, 0, `seeding the key cache: ${seed.stderr}`);
  });
  after(async () => {
    await cleanup();
  });

  const verify = (token: string) => exec('scitokens-verify', [token], env);
  const access = (token: string, authz: string, path: string, aud = AUD) =>
    exec('scitokens-test-access', [token, ISSUER, aud, authz, path], env);

  it('scitokens-verify accepts a SciTokens 2.0 and a WLCG token; refuses another key, an expired one', async () => {
    assert.equal((await verify(mintToken(key, req()))).code, 0);
    const wlcg = await verify(mintToken(key, req({ version: 'wlcg', scope: 'storage.read:/data' })));
    assert.equal(wlcg.code, 0, wlcg.stderr);
    const other = signingKeyFrom(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      'ES256',
      'local',
      'x',
    );
    const forged = await verify(mintToken(other, req()));
    assert.notEqual(forged.code, 0, 'a token signed by another key under the same kid is refused');
    const expired = await verify(mintToken(key, req({ nowSeconds: now() - 3600, lifetimeSeconds: 600 })));
    assert.notEqual(expired.code, 0, 'an expired token is refused');
    assert.match(expired.stdout + expired.stderr, /expired/);
  });

  it('scitokens-test-access grants the scopes, and nothing outside their path or audience', async () => {
    const sci = mintToken(key, req());
    assert.equal((await access(sci, 'read', '/user/alice/data.root')).code, 0);
    assert.equal((await access(sci, 'write', '/user/alice/out')).code, 0);
    assert.notEqual((await access(sci, 'read', '/user/bob')).code, 0, 'outside the path');
    assert.notEqual(
      (await access(sci, 'read', '/user/alice', 'https://other.example')).code,
      0,
      'wrong audience',
    );
    // WLCG scope words are read by scitokens-cpp in the WLCG profile: storage.read => read.
    const wlcg = mintToken(key, req({ version: 'wlcg', scope: 'storage.read:/data' }));
    assert.equal((await access(wlcg, 'read', '/data/file')).code, 0);
    assert.notEqual((await access(wlcg, 'read', '/elsewhere')).code, 0);
    assert.notEqual((await access(wlcg, 'write', '/data/file')).code, 0, 'read only');
  });
});
