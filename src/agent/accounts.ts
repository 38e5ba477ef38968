import type { ClientCache } from '../credentials/index.js';
import { type Remedy, TokenwardenError } from '../errors.js';
import type { Secret } from '../secret.js';
import { type CredentialStore, createFileStore } from '../store/index.js';

/**
 * An account loaded into the agent: its store (key derived once, kept in memory). No OAuth client is
 * kept here: each refresh builds (or reuses) the client of the record it reads (see clients.ts).
 */
export interface LoadedAccount {
  name: string;
  issuer: string;
  store: CredentialStore;
  credentialFile: string;
  /** The config.ini `add` used, named in the commands that hints print (undefined: none). */
  configPath: string | undefined;
  loadedAt: number;
  /** Epoch ms after which the account is unloaded (undefined: until removed). */
  expiresAt: number | undefined;
}

export interface LoadOptions {
  name: string;
  password: Secret;
  credentialFile: string;
  lockFile: string;
  configPath?: string | undefined;
  lifetimeSeconds: number | undefined;
  clients: ClientCache;
  /** Deadline and fetch of the discovery request. */
  timeoutSeconds: number;
  fetch?: typeof fetch | undefined;
  clock: () => number;
}

/** The commands that give an account a new login, then load it again: `setup`, then `add`. */
export function loginRemedy(name: string, configPath: string | undefined, issuer?: string): Remedy {
  return {
    command: 'setup',
    account: name,
    config: configPath,
    issuer,
    next: { command: 'add', account: name, config: configPath },
  };
}

/**
 * Opens (decrypts) the account's record with the password and checks that its issuer answers discovery
 * (so that `add` fails now, not at the first token request).
 */
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
          hint: 'create it with',
          remedy: { command: 'setup', account: options.name, config: options.configPath, issuer: 'URL' },
        },
      );
    }
    await options.clients.forRecord(record, { timeoutSeconds: options.timeoutSeconds, fetch: options.fetch });
    const now = options.clock();
    return {
      name: options.name,
      issuer: record.issuer,
      store,
      credentialFile: options.credentialFile,
      configPath: options.configPath,
      loadedAt: now,
      expiresAt: options.lifetimeSeconds ? now + options.lifetimeSeconds * 1000 : undefined,
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
