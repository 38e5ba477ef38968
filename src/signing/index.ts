export { DISCOVERY_PATH, discoveryDocument, JWKS_PATH, jwksDocument } from './documents.js';
export { createExclusively, ensureKeyPair, generatePrivateKey } from './ensure-key-pair.js';
export { checkKid, loadSigningKey, publicJwkOf, signingKeyFrom } from './load-key.js';
export { claimsOf, MAX_LIFETIME_SECONDS, mintToken, profileClaim } from './mint.js';
export { type MintRequest, SIGNING_ALGS, type SigningAlg, type SigningKey } from './types.js';
