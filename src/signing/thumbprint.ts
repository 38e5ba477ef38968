import { createHash } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * The JWK Thumbprint of a public key (RFC 7638): SHA-256 over the required members in lexicographic
 * order, base64url. Used as the default `kid` of `tokenwarden issuer`, so that a key's id follows from
 * the key and two keys never share one. Synchronous (jose's calculateJwkThumbprint is async).
 */
export function jwkThumbprint(jwk: JWK): string {
  let members: Record<string, unknown>;
  if (jwk.kty === 'EC') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  else if (jwk.kty === 'RSA') members = { e: jwk.e, kty: jwk.kty, n: jwk.n };
  else if (jwk.kty === 'OKP') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  else throw new Error(`no thumbprint for key type ${String(jwk.kty)}`);
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
