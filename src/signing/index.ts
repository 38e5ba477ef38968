export { DISCOVERY_PATH, discoveryDocument, JWKS_PATH, jwksDocument } from './documents.js';
export { createExclusively, ensureKeyPair, generatePrivateKey } from './ensure-key-pair.js';
export { fetchIssuerKeys, KeyFetchError, MAX_DOCUMENT_BYTES } from './fetch-keys.js';
export { createJwksCache, type JwksCache, type JwksCacheOptions, type KeyLookup } from './jwks-cache.js';
export { algOf, checkKid, loadSigningKey, publicJwkOf, signingKeyFrom } from './load-key.js';
export { claimsOf, MAX_LIFETIME_SECONDS, mintToken, profileClaim } from './mint.js';
export { jwkThumbprint } from './thumbprint.js';
export { type MintRequest, SIGNING_ALGS, type SigningAlg, type SigningKey } from './types.js';
export {
  checkTokenClaims,
  type TokenProfile,
  type VerifyFailure,
  type VerifyOptions,
  type VerifyResult,
  verifyToken,
  WLCG_ANY_AUDIENCE,
  WLCG_MAX_LIFETIME_SECONDS,
} from './verify.js';
