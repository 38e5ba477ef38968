import { randomUUID, sign } from 'node:crypto';
import { TokenwardenError } from '../errors.js';
import type { MintRequest, SigningKey } from './types.js';

/** The claims mintToken writes itself; extraClaims may not replace them. */
const RESERVED_CLAIMS = new Set([
  'iss',
  'sub',
  'scope',
  'aud',
  'ver',
  'wlcg.ver',
  'iat',
  'nbf',
  'exp',
  'jti',
]);
/** Longer than any site would give a bearer token (HTCondor's default is 1200 s); a typo, not a policy. */
export const MAX_LIFETIME_SECONDS = 366 * 24 * 3600;

/** The encoded JWS header of each key, computed once: it depends on the key alone. */
const headers = new WeakMap<SigningKey, string>();

/**
 * Mints a signed JWT (RFC 7519) for a local issuer: the header `{alg, kid, typ: "JWT"}` and exactly the
 * claims `iss, sub, scope, aud (array, omitted when empty), ver | wlcg.ver, iat, nbf = iat,
 * exp = iat + lifetime, jti`, plus `extraClaims`, in that order.
 *
 * Synchronous, signing with node:crypto directly rather than jose's SignJWT: jose's sign is async
 * (WebCrypto) and costs a promise, a key import check and a JSON re-encode per token, which kept it well
 * under the 10,000 ES256 tokens/s a credmon with 10,000 users wants (see bench/mint.ts). The encoding
 * is the same compact JWS (RFC 7515 section 7.1): ES256 signatures in IEEE P1363 form (r || s, RFC 7518
 * section 3.4), RS256 as RSASSA-PKCS1-v1_5 with SHA-256.
 */
export function mintToken(key: SigningKey, req: MintRequest): string {
  const claims = claimsOf(req);
  let header = headers.get(key);
  if (header === undefined) {
    header = base64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT' }));
    headers.set(key, header);
  }
  const signingInput = `${header}.${base64url(JSON.stringify(claims))}`;
  const data = Buffer.from(signingInput);
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', data, key.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** The claim set of a MintRequest, checked (see mintToken for the order). */
export function claimsOf(req: MintRequest): Record<string, unknown> {
  checkRequest(req);
  const claims: Record<string, unknown> = { iss: req.issuer, sub: req.subject, scope: req.scope };
  if (req.audience.length > 0) claims.aud = [...req.audience];
  const version = profileClaim(req.version);
  if (version !== undefined) claims[version.name] = version.value;
  claims.iat = req.nowSeconds;
  claims.nbf = req.nowSeconds;
  claims.exp = req.nowSeconds + req.lifetimeSeconds;
  claims.jti = req.jti ?? randomUUID();
  if (req.extraClaims !== undefined) {
    for (const [name, value] of Object.entries(req.extraClaims)) {
      if (RESERVED_CLAIMS.has(name))
        throw new TokenwardenError(
          'USAGE',
          `extra claim ${JSON.stringify(name)} would replace a claim the issuer sets`,
        );
      claims[name] = value;
    }
  }
  return claims;
}

/**
 * The version claim a profile name gives: `scitoken:2.0` => `ver`; `wlcg`, `wlcg:1.0` => `wlcg.ver: "1.0"`;
 * other non-empty => `ver` as given; `''` => none.
 */
export function profileClaim(version: string): { name: 'ver' | 'wlcg.ver'; value: string } | undefined {
  if (version === '') return undefined;
  if (version === 'wlcg' || version === 'wlcg:1.0') return { name: 'wlcg.ver', value: '1.0' };
  return { name: 'ver', value: version };
}

function checkRequest(req: MintRequest): void {
  const bad = (message: string) => new TokenwardenError('USAGE', `cannot mint a token: ${message}`);
  if (typeof req.issuer !== 'string' || req.issuer === '') throw bad('the issuer (iss) is empty');
  if (typeof req.subject !== 'string' || req.subject === '') throw bad('the subject (sub) is empty');
  if (typeof req.scope !== 'string') throw bad('the scope is not text');
  if (!Number.isSafeInteger(req.nowSeconds) || req.nowSeconds <= 0)
    throw bad('the time (iat) is not a positive whole number of seconds');
  if (
    !Number.isSafeInteger(req.lifetimeSeconds) ||
    req.lifetimeSeconds <= 0 ||
    req.lifetimeSeconds > MAX_LIFETIME_SECONDS
  )
    throw bad(`the lifetime must be a whole number of seconds from 1 to ${MAX_LIFETIME_SECONDS}`);
  for (const aud of req.audience)
    if (typeof aud !== 'string' || aud === '' || /\s/.test(aud))
      throw bad('an audience is empty or contains blanks');
  if (req.version === 'scitoken:2.0' && req.audience.length === 0)
    throw bad('aud missing: a scitoken:2.0 token must name its audience');
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
