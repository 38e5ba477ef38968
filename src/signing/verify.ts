import { compactVerify, importJWK, type JWK } from 'jose';
import { decodeToken } from '../tokens/decode.js';
import { KeyFetchError } from './fetch-keys.js';
import { createJwksCache, type JwksCache } from './jwks-cache.js';

/**
 * The profiles a token is checked against, from its version claim. `wlcg:1.0` stands for the WLCG
 * profile's major version 1: a `wlcg.ver` of "1.0", "1.2"... (a newer minor adds nothing to check).
 */
export type TokenProfile = 'wlcg:1.0' | 'scitoken:2.0' | 'scitoken:1.0' | 'unknown';

/** One rule the token breaks: `rule` is a short stable name (`aud`, `signature`...), `message` says why. */
export interface VerifyFailure {
  rule: string;
  message: string;
}

export interface VerifyResult {
  valid: boolean;
  profile: TokenProfile;
  /** Empty when valid. Every rule broken is listed, the signature's first. */
  failures: VerifyFailure[];
}

export interface VerifyOptions {
  fetch?: typeof fetch;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** Keys by issuer; a process verifying many tokens passes one cache to every call. */
  cache?: JwksCache;
  /** Deadline of each request for discovery and keys (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** An audience the token must name (as a storage would check its own). */
  audience?: string;
  /** Allowed clock skew for `nbf` and `iat` in the future (default 60 s). */
  leewaySeconds?: number;
}

/** Algorithms a token may be signed with: asymmetric only (no `none`, no HMAC with a public key). */
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
/**
 * The WLCG profile's default maximum access token lifetime, 6 hours (section 4.3.1): a recommendation a
 * community may depart from after a risk assessment, so `issuer mint` warns beyond it, verification
 * does not fail.
 */
export const WLCG_MAX_LIFETIME_SECONDS = 6 * 3600;
/** The audience every WLCG resource accepts. */
export const WLCG_ANY_AUDIENCE = 'https://wlcg.cern.ch/jwt/v1/any';
/** Storage scopes (profile section 2.2.1; `storage.poll` since 1.2) and the path each must carry. */
const WLCG_STORAGE = /^storage\.(read|create|modify|stage|poll):(\/.*)$/;
const WLCG_COMPUTE = /^compute\.(read|modify|create|cancel)$/;
/** `wlcg.ver` is MAJOR.MINOR (section 2.1.1); this checks major version 1. */
const WLCG_VERSION = /^([0-9]+)\.[0-9]+$/;
/** A `wlcg.groups` entry: `/vo` or `/vo/group/...` (section 2.1.1). */
const WLCG_GROUP = /^(\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)+$/;
const SCITOKENS_AUTHZ = new Set(['read', 'write', 'create', 'modify', 'execute', 'queue', 'stage']);

const defaultCache = createJwksCache();

/**
 * Verifies a token as a relying party would: its signature against its issuer's published key (found
 * through discovery, by the header's `kid`, which is required), then the claim rules of its profile:
 * the WLCG Common JWT Profile (as 1.3 states them) when it says `wlcg.ver`, SciTokens 2.0 when `ver`
 * is `scitoken:2.0` (1.0 when it has neither, as scitokens-cpp reads it). What scitokens-cpp demands
 * of every token (`iss`, `exp`, `iat`, `nbf`; a `wlcg.ver` of exactly "1.0") is demanded here too,
 * where the profile is more lenient: a token XRootD or HTCondor would refuse is not called valid.
 * What the WLCG profile only recommends (a lifetime of at most 6 hours, `scope` or `wlcg.groups`
 * present) is not checked. Never throws for a bad token; the result lists every rule broken.
 */
export async function verifyToken(token: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const failures: VerifyFailure[] = [];
  const fail = (rule: string, message: string) => failures.push({ rule, message });
  let decoded: ReturnType<typeof decodeToken>;
  try {
    decoded = decodeToken(token);
  } catch (err) {
    fail('format', err instanceof Error ? err.message : 'not a JWT');
    return { valid: false, profile: 'unknown', failures };
  }
  const { header, claims } = decoded;
  const clock = options.clock ?? Date.now;

  const alg = header.alg;
  const kid = header.kid;
  const iss = claims.iss;
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg))
    fail(
      'alg',
      `alg ${JSON.stringify(alg)} is not accepted: a token must be signed with one of ${ALGORITHMS.join(', ')}`,
    );
  if (typeof kid !== 'string' || kid === '')
    fail('kid', 'kid missing: the header must name the issuer key that signed the token');
  if (typeof iss !== 'string' || iss === '') fail('iss', 'iss missing: the token must name its issuer');
  if (failures.length === 0) {
    await checkSignature(token, iss as string, kid as string, alg as string, options, clock, fail);
  }
  const profile = profileOf(claims, fail);
  checkClaims(claims, profile, Math.floor(clock() / 1000), options, fail);
  return { valid: failures.length === 0, profile, failures };
}

/**
 * The claim rules alone (step 5 of verifyToken), for claims at hand: `issuer mint` checks what it is
 * about to sign, so that it never makes a token verifiers would refuse. Pure.
 */
export function checkTokenClaims(
  claims: Record<string, unknown>,
  options: { nowSeconds: number; audience?: string; leewaySeconds?: number },
): { profile: TokenProfile; failures: VerifyFailure[] } {
  const failures: VerifyFailure[] = [];
  const fail = (rule: string, message: string) => failures.push({ rule, message });
  const profile = profileOf(claims, fail);
  checkClaims(
    claims,
    profile,
    options.nowSeconds,
    {
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      ...(options.leewaySeconds === undefined ? {} : { leewaySeconds: options.leewaySeconds }),
    },
    fail,
  );
  return { profile, failures };
}

async function checkSignature(
  token: string,
  issuer: string,
  kid: string,
  alg: string,
  options: VerifyOptions,
  clock: () => number,
  fail: (rule: string, message: string) => void,
): Promise<void> {
  let jwk: JWK;
  try {
    jwk = await (options.cache ?? defaultCache).keyFor(issuer, kid, {
      fetch: options.fetch ?? fetch,
      clock,
      timeoutMs: options.timeoutMs ?? 10_000,
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof KeyFetchError) fail(err.rule, err.message);
    else
      fail(
        'jwks',
        `the issuer's keys could not be used: ${err instanceof Error ? err.message : String(err)}`,
      );
    return;
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    fail('alg', `the token says alg ${alg} but the issuer's key ${kid} is for ${jwk.alg}`);
    return;
  }
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch {
    fail('jwks', `the issuer's key ${kid} is not a usable ${alg} public key`);
    return;
  }
  try {
    await compactVerify(token.trim(), key, { algorithms: [alg] });
  } catch {
    fail(
      'signature',
      `signature invalid: the token was not signed by the key ${kid} that ${issuer} publishes`,
    );
  }
}

function profileOf(
  claims: Record<string, unknown>,
  fail: (rule: string, message: string) => void,
): TokenProfile {
  if ('wlcg.ver' in claims) {
    // The profile (section 4.3.3) has a verifier accept any newer minor version of a major version it
    // knows and refuse an unknown major version. Issuers still write "1.0" (section 2.1.1).
    const ver = claims['wlcg.ver'];
    const m = typeof ver === 'string' ? WLCG_VERSION.exec(ver) : null;
    if (!m)
      fail(
        'wlcg.ver',
        `wlcg.ver ${JSON.stringify(ver)} is not a WLCG profile version: the profile wants MAJOR.MINOR as a string ("1.0")`,
      );
    else if (Number(m[1]) !== 1)
      fail(
        'wlcg.ver',
        `wlcg.ver ${JSON.stringify(ver)} is a WLCG major version this does not know: only 1.x is checked, and the profile has an unknown major version refused`,
      );
    else if (ver !== '1.0')
      // The profile has verifiers accept a newer minor, but scitokens-cpp (XRootD, HTCondor) still
      // refuses all but "1.0": a token the storage would refuse is not called valid.
      fail(
        'wlcg.ver',
        `wlcg.ver ${JSON.stringify(ver)}: the profile allows a newer 1.x, but scitokens-cpp (XRootD, HTCondor) refuses anything but "1.0"`,
      );
    return 'wlcg:1.0';
  }
  if (!('ver' in claims)) return 'scitoken:1.0';
  if (claims.ver === 'scitoken:2.0') return 'scitoken:2.0';
  if (claims.ver === 'scitoken:1.0') return 'scitoken:1.0';
  fail(
    'ver',
    `ver ${JSON.stringify(claims.ver)} is not a known profile (scitoken:2.0, or wlcg.ver for WLCG)`,
  );
  return 'unknown';
}

function checkClaims(
  claims: Record<string, unknown>,
  profile: TokenProfile,
  now: number,
  options: VerifyOptions,
  fail: (rule: string, message: string) => void,
): void {
  const leeway = options.leewaySeconds ?? 60;
  const time = (name: 'exp' | 'iat' | 'nbf'): number | undefined => {
    const value = claims[name];
    if (value === undefined) {
      fail(name, `${name} missing: scitokens-cpp (XRootD, HTCondor) refuses a token without it`);
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      fail(name, `${name} is not a number of seconds`);
      return undefined;
    }
    return value;
  };
  const exp = time('exp');
  const iat = time('iat');
  // nbf is optional in the WLCG profile (section 2.1.1), but scitokens-cpp before 1.0 (Debian's 0.7,
  // and so its XRootD plugin) refuses any token without it, WLCG ones included.
  const nbf = time('nbf');
  if (exp !== undefined && exp <= now) fail('exp', `expired ${ago(now - exp)} ago (exp ${iso(exp)})`);
  if (nbf !== undefined && nbf > now + leeway)
    fail('nbf', `not valid before ${iso(nbf)} (nbf is in the future)`);
  if (iat !== undefined && iat > now + leeway) fail('iat', `issued in the future (iat ${iso(iat)})`);
  if (exp !== undefined && iat !== undefined && exp <= iat) fail('exp', 'exp is not after iat');

  const sub = claims.sub;
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (aud !== undefined && (audiences === undefined || !audiences.every((a) => typeof a === 'string')))
    fail('aud', 'aud is neither a string nor a list of strings');
  const scope = claims.scope;
  if (scope !== undefined && typeof scope !== 'string')
    fail('scope', 'scope is not a space-separated string');
  const words = typeof scope === 'string' ? scope.split(' ').filter((w) => w !== '') : [];

  if (profile === 'wlcg:1.0') {
    if (typeof sub !== 'string' || sub === '') fail('sub', 'sub missing: a WLCG token must name its subject');
    if (aud === undefined || audiences?.length === 0)
      fail('aud', `aud missing: a WLCG token must name its audience (${WLCG_ANY_AUDIENCE} for any)`);
    if (typeof claims.jti !== 'string' || claims.jti === '')
      fail('jti', 'jti missing: a WLCG token must carry a unique identifier');
    // The lifetime (section 4.3.1) and scope-or-wlcg.groups (section 2.1.3) are recommendations only.
    const groups = claims['wlcg.groups'];
    if (groups !== undefined) {
      if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))
        fail(
          'wlcg.groups',
          'wlcg.groups is not a list of group names: the profile wants a JSON array of strings',
        );
      else
        for (const group of groups)
          if (!WLCG_GROUP.test(group))
            fail(
              'wlcg.groups',
              `wlcg.groups ${JSON.stringify(group)} is not a group name: the profile wants /VO or /VO/GROUP/..., each name a letter or digit then letters, digits, _ . -`,
            );
    }
    for (const word of words) {
      if (word.startsWith('storage.')) {
        const m = WLCG_STORAGE.exec(word);
        if (!m)
          fail(
            'scope',
            `scope ${JSON.stringify(word)} is not storage.read|create|modify|stage|poll:/PATH (the profile wants a path on every storage scope)`,
          );
        else if (badPath(m[2] as string))
          fail('scope', `scope ${JSON.stringify(word)}: the path must be absolute without .. segments`);
      } else if (word.startsWith('compute.') && !WLCG_COMPUTE.test(word)) {
        fail(
          'scope',
          `scope ${JSON.stringify(word)} is not compute.read, compute.modify, compute.create or compute.cancel`,
        );
      }
    }
  } else if (profile === 'scitoken:2.0' || profile === 'scitoken:1.0') {
    if (profile === 'scitoken:2.0' && (aud === undefined || audiences?.length === 0))
      fail('aud', 'aud missing: a scitoken:2.0 token must name its audience');
    if (profile === 'scitoken:2.0' && (typeof sub !== 'string' || sub === ''))
      fail('sub', 'sub missing: a scitoken:2.0 token must name its subject');
    if (scope === undefined) fail('scope', 'scope missing: a SciToken carries its authorizations in scope');
    for (const word of words) {
      const colon = word.indexOf(':');
      const authz = colon < 0 ? word : word.slice(0, colon);
      const path = colon < 0 ? undefined : word.slice(colon + 1);
      if (authz.startsWith('compute.') || authz === 'condor') continue;
      if (!SCITOKENS_AUTHZ.has(authz))
        fail(
          'scope',
          `scope ${JSON.stringify(word)}: ${JSON.stringify(authz)} is not a SciTokens authorization (read, write, create, modify, execute, queue, stage)`,
        );
      else if (path !== undefined && badPath(path))
        fail('scope', `scope ${JSON.stringify(word)}: the path must be absolute without .. segments`);
    }
  }
  if (options.audience !== undefined && audiences !== undefined) {
    const ok =
      audiences.includes(options.audience) ||
      (profile === 'wlcg:1.0' && audiences.includes(WLCG_ANY_AUDIENCE));
    if (!ok) fail('aud', `the token is not for ${options.audience} (aud ${JSON.stringify(audiences)})`);
  }
}

function badPath(path: string): boolean {
  return !path.startsWith('/') || path.split('/').includes('..');
}

function iso(seconds: number): string {
  return Number.isFinite(seconds) && Math.abs(seconds) < 253402300800
    ? new Date(seconds * 1000).toISOString()
    : String(seconds);
}

function ago(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 86400)} days`;
}
