import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNoWorse, renewReason } from '../../src/renewal/index.js';
import type { DecodedToken } from '../../src/tokens/index.js';

const token = (exp: number | undefined, audience: string[] = [], scope: string[] = []): DecodedToken => ({
  header: {},
  claims: exp === undefined ? {} : { exp },
  audience,
  scope,
});
const wanted = { audience: ['https://a'], scope: ['storage.read:/'], minLifetime: 60 };

describe('renewReason', () => {
  it('keeps a token with more than min_lifetime left and the wanted claims', () => {
    assert.equal(renewReason(token(1000, ['https://a', 'x'], ['storage.read:/']), wanted, 900), undefined);
  });
  it('renews at min_lifetime or less', () => {
    assert.equal(renewReason(token(960, ['https://a'], ['storage.read:/']), wanted, 900), 'expiring');
    assert.equal(renewReason(token(961, ['https://a'], ['storage.read:/']), wanted, 900), undefined);
  });
  it('renews missing, unreadable and expiry-less tokens', () => {
    assert.equal(renewReason('missing', wanted, 0), 'missing');
    assert.equal(renewReason('unreadable', wanted, 0), 'unreadable');
    assert.equal(renewReason(token(undefined), wanted, 0), 'no-expiry');
  });
  it('renews when the config asks for an audience or scope the token lacks', () => {
    assert.equal(renewReason(token(5000, ['https://b'], ['storage.read:/']), wanted, 0), 'audience');
    assert.equal(renewReason(token(5000, ['https://a'], ['compute.read']), wanted, 0), 'scope');
  });
  it('renews anything when forced', () => {
    assert.equal(renewReason(token(5000, ['https://a'], ['storage.read:/']), wanted, 0, true), 'forced');
  });
});

describe('isNoWorse', () => {
  it('refuses a replacement that expires sooner', () => {
    assert.equal(isNoWorse(100, 200), false);
    assert.equal(isNoWorse(200, 200), true);
    assert.equal(isNoWorse(300, undefined), true);
    assert.equal(isNoWorse(undefined, 200), true);
  });
});
