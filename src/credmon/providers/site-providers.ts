import type { CredmonConfig } from '../config/types.js';
import { createClientProvider } from './client.js';
import { createLocalProvider } from './local.js';
import type { CredentialProvider } from './types.js';

/**
 * The providers that need no user login, built from the configuration: one local issuer per
 * `LOCAL_CREDMON_PROVIDER_NAMES` entry and one client-credentials provider per
 * `CLIENT_CREDMON_PROVIDER_NAMES` entry (the OAuth2 ones the credmon builds itself). Nothing is read
 * here; each provider's `prepare` checks its keys and files when the credmon starts.
 */
export function createSiteProviders(config: Pick<CredmonConfig, 'local' | 'client'>): CredentialProvider[] {
  return [
    ...config.local.map((c) => createLocalProvider(c)),
    ...config.client.map((c) => createClientProvider(c)),
  ];
}
