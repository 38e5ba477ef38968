// Loaded with `node --import` into a spawned CLI: makes `openid-client` impossible to import, so that a
// test can show a command path never loads the OIDC client.
import { register } from 'node:module';

const hook = `export async function resolve(specifier, context, next) {
  if (specifier === 'openid-client') throw new Error('openid-client was loaded');
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
