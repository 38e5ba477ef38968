/**
 * The OIDC client code (openid-client), loaded on first use: importing credentials/ costs nothing, so
 * that a `renew` whose tokens are all fresh never loads it.
 */
export function loadOidc(): Promise<typeof import('../oidc/index.js')> {
  return import('../oidc/index.js');
}
