/**
 * Loopback issuers may use plain http (tests, `demo`, `test-issuer`); anything else must be https.
 * Kept free of imports so the config reader can check URLs without loading openid-client.
 */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
