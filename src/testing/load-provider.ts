type OidcProviderModule = typeof import('oidc-provider');

let loading: Promise<OidcProviderModule> | undefined;

/** What oidc-provider v9 prints once, on import, on any Node.js release line older than 22. */
const RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime';

/**
 * Imports oidc-provider on first use (so the CLI does not load it for other commands), without its
 * import-time warning that Node.js 20 is unsupported: the test issuer is tested on Node.js 20. Only that
 * one message is held back, and only while the module is being evaluated.
 */
export function loadOidcProvider(): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes(RUNTIME_WARNING)) return;
      warn.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}
