import type * as oc from 'openid-client';
import { TokenwardenError } from '../errors.js';
import { createClient } from '../oidc/index.js';
import type { Secret } from '../secret.js';
import { type CredentialStore, createFileStore } from '../store/index.js';

/** An account loaded into the agent: its store (key derived once, kept in memory) and its client. */
export interface LoadedAccount {
  name: string;
  issuer: string;
  store: CredentialStore;
  client: oc.Configuration;
  credentialFile: string;
  loadedAt: number;
  /** Epoch ms after which the account is unloaded (undefined: until removed). */
  expiresAt: number | undefined;
}

export interface LoadOptions {
  name: string;
  password: Secret;
  credentialFile: string;
  lockFile: string;
  lifetimeSeconds: number | undefined;
  timeoutSeconds: number;
  fetch?: typeof fetch | undefined;
  clock: () => number;
}

/** Opens (decrypts) the account's record with the password and prepares its client. */
export async function loadAccount(options: LoadOptions): Promise<LoadedAccount> {
  const store = createFileStore({
    credentialFile: () => options.credentialFile,
    lockFile: () => options.lockFile,
    password: async () => options.password,
  });
  try {
    const record = await store.load(options.name);
    if (record === undefined) {
      throw new TokenwardenError(
        'STORE_NOT_FOUND',
        `no credential for account ${options.name} at ${options.credentialFile}`,
        {
          hint: `create it with: tokenwarden setup ${options.name} --issuer URL`,
        },
      );
    }
    const client = await createClient(
      {
        issuer: record.issuer,
        clientId: record.clientId,
        clientSecret: record.clientSecret,
        authMethod: record.tokenEndpointAuthMethod as
          | 'client_secret_basic'
          | 'client_secret_post'
          | 'none'
          | undefined,
      },
      { timeoutSeconds: options.timeoutSeconds, fetch: options.fetch },
    );
    const now = options.clock();
    return {
      name: options.name,
      issuer: record.issuer,
      store,
      client,
      credentialFile: options.credentialFile,
      loadedAt: now,
      expiresAt: options.lifetimeSeconds ? now + options.lifetimeSeconds * 1000 : undefined,
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
