/**
 * The test issuer takes `resource=` on a PKCE authorization request (as HTCondor's credmon web app
 * sends the key file's Audience) and gives it to the code exchange with the same verifier.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createAuthorizationAudiences } from '../../src/testing/audience.js';

const VERIFIER = 'v'.repeat(43);
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

describe('createAuthorizationAudiences', () => {
  it('moves resource= from a PKCE authorization request to its code exchange, once', () => {
    const a = createAuthorizationAudiences();
    const url = `/auth?client_id=c&resource=https%3A%2F%2Fs.example&resource=x&code_challenge=${CHALLENGE}&code_challenge_method=S256`;
    const taken = a.takeFromAuthorization(url);
    assert.ok(!taken.includes('resource='));
    assert.match(taken, /^\/auth\?client_id=c&code_challenge=/);
    const body = `grant_type=authorization_code&code=k&code_verifier=${VERIFIER}`;
    const given = new URLSearchParams(a.giveToCodeExchange(body));
    assert.equal(given.get('audience'), 'https://s.example x');
    assert.equal(a.giveToCodeExchange(body), body, 'given once');
  });

  it('leaves requests without PKCE, and exchanges with their own audience, as they are', () => {
    const a = createAuthorizationAudiences();
    const plain = '/auth?client_id=c&resource=x';
    assert.equal(a.takeFromAuthorization(plain), plain);
    a.takeFromAuthorization(`/auth?resource=x&code_challenge=${CHALLENGE}&code_challenge_method=S256`);
    const own = `grant_type=authorization_code&code_verifier=${VERIFIER}&audience=mine`;
    assert.equal(a.giveToCodeExchange(own), own);
    const refresh = 'grant_type=refresh_token&refresh_token=r';
    assert.equal(a.giveToCodeExchange(refresh), refresh);
  });
});
