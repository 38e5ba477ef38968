import type { TokenConfig } from '../config/index.js';
import { expiryOf } from '../credentials/index.js';
import { TokenwardenError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';
import type { TokenResponse } from '../oidc/index.js';
import { type DecodedToken, decodeToken } from '../tokens/index.js';
import type { Candidate } from './plan.js';
import { isNoWorse } from './policy.js';

/** How a token file is written: an existing file keeps the owner, group and mode the config does not set. */
export function writeOptions(token: TokenConfig, ids: { uid?: number; gid?: number } = {}) {
  return { ...(token.mode === undefined ? {} : { mode: token.mode }), ...ids, keepExisting: true };
}

/**
 * Writes a new access token to the candidate's token file, atomically (docs/architecture.md invariant 3),
 * unless it is not a JWT or expires sooner than the token on disk (`currentExp`): then the file is left
 * as it was and the error says why. Returns the new token's expiry and claims.
 */
export async function writeRenewedToken(
  c: Candidate,
  currentExp: number | undefined,
  response: TokenResponse,
  now: number,
): Promise<{ expiresAt: number | undefined; claims: DecodedToken['claims'] }> {
  const { token } = c;
  const accessToken = response.accessToken.reveal();
  let decoded: DecodedToken;
  try {
    decoded = decodeToken(accessToken);
  } catch {
    throw new TokenwardenError('ISSUER_RESPONSE', 'the issuer returned an access token that is not a JWT');
  }
  const exp = expiryOf(response, decoded.claims, now);
  if (!isNoWorse(exp, currentExp)) {
    throw new TokenwardenError(
      'RENEW_FAILED',
      `the issuer returned a token expiring sooner than the one on disk; kept the current one`,
      { hint: 'lower min_lifetime below the lifetime of the tokens the issuer grants' },
    );
  }
  await writeFileAtomic(
    token.tokenPath,
    token.newline ? `${accessToken}\n` : accessToken,
    writeOptions(token, c.ids),
  );
  return { expiresAt: exp, claims: decoded.claims };
}
