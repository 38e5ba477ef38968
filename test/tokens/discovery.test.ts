import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultBearerTokenPath,
  discoverBearerToken,
  discoverySteps,
  stripC99Whitespace,
} from '../../src/tokens/index.js';

const files = (map: Record<string, string>) => async (p: string) => map[p];

describe('WLCG bearer token discovery', () => {
  it('looks at BEARER_TOKEN, BEARER_TOKEN_FILE, then XDG_RUNTIME_DIR', () => {
    const steps = discoverySteps(
      { BEARER_TOKEN: 'x', BEARER_TOKEN_FILE: '/f', XDG_RUNTIME_DIR: '/run/user/5' },
      5,
    );
    assert.deepEqual(steps, [
      { source: 'BEARER_TOKEN' },
      { source: 'BEARER_TOKEN_FILE', path: '/f' },
      { source: 'XDG_RUNTIME_DIR', path: '/run/user/5/bt_u5' },
    ]);
  });

  it('falls back to /tmp/bt_u<euid> without XDG_RUNTIME_DIR', () => {
    assert.deepEqual(discoverySteps({}, 1000), [{ source: 'tmp', path: '/tmp/bt_u1000' }]);
    assert.equal(defaultBearerTokenPath({}, 1000), '/tmp/bt_u1000');
    assert.equal(defaultBearerTokenPath({ XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/run/user/7/bt_u7');
    assert.equal(defaultBearerTokenPath({ BEARER_TOKEN_FILE: '/x', XDG_RUNTIME_DIR: '/r' }, 7), '/x');
  });

  it('takes $BEARER_TOKEN first and strips C99 whitespace', async () => {
    const found = await discoverBearerToken({ BEARER_TOKEN: ' \tabc.def.ghi\n\v' }, 1, files({}));
    assert.deepEqual(found, { source: 'BEARER_TOKEN', token: 'abc.def.ghi' });
  });

  it('moves on past an empty value', async () => {
    const found = await discoverBearerToken(
      { BEARER_TOKEN: '  ', BEARER_TOKEN_FILE: '/empty', XDG_RUNTIME_DIR: '/run' },
      9,
      files({ '/empty': '\n', '/run/bt_u9': 'tok.en.x\n' }),
    );
    assert.deepEqual(found, { source: 'XDG_RUNTIME_DIR', path: '/run/bt_u9', token: 'tok.en.x' });
  });

  it('rejects an invalid value, naming where it came from', async () => {
    await assert.rejects(
      discoverBearerToken({ BEARER_TOKEN_FILE: '/f' }, 1, files({ '/f': 'not a token\n' })),
      {
        code: 'TOKEN_INVALID',
        message: /\/f \(from \$BEARER_TOKEN_FILE\) does not hold a bearer token/,
      },
    );
  });

  it('finds nothing when every place is absent', async () => {
    assert.equal(await discoverBearerToken({}, 1, files({})), undefined);
  });

  it('strips exactly the C99 whitespace set', () => {
    assert.equal(stripC99Whitespace('\f\r\n\t\v a b \u00a0'), 'a b \u00a0');
  });
});
