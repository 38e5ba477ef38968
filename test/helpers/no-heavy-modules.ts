// Loaded with `node --import` into a spawned CLI: makes every module that only due work needs
// impossible to import, so that a test can show a run with nothing due never loads them (the OIDC
// client and the test issuer, libsodium, the lock addon, child processes, jose (its index and the two
// decoders tokens/decode.ts replaced), the web stack).
import { register } from 'node:module';

const hook = `const HEAVY = new Set(['openid-client', 'oidc-provider', 'libsodium-wrappers-sumo', 'fs-ext',
  'node:child_process', 'child_process', 'jose', 'jose/jwt/decode', 'jose/decode/protected_header',
  'fastify', 'prom-client']);
export async function resolve(specifier, context, next) {
  if (HEAVY.has(specifier)) throw new Error(specifier + ' was loaded');
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
