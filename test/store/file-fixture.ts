import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Secret } from '../../src/secret.js';
import { type CredentialStore, createFileStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import type { StoreFixture } from './contract.js';

/** A low scrypt cost, so tests stay fast; one test checks the default. */
export const TEST_KDF = { N: 2 ** 12 } as const;

export interface FileStoreConfig {
  dir: string;
}

export function credentialPath(dir: string, account: string): string {
  return join(dir, 'accounts', `${account}.cred`);
}

/** Where the file store locks an account by default: beside its credential file. */
export function lockPath(dir: string, account: string): string {
  return join(dir, 'accounts', `.${account}.cred.lock`);
}

/** Opens the file store of a fixture directory; also what contract-worker.ts calls in a child. */
export function openStore(config: unknown, password: (account: string) => Promise<Secret>): CredentialStore {
  const { dir } = config as FileStoreConfig;
  return createFileStore({
    credentialFile: (account) => credentialPath(dir, account),
    password,
    kdf: TEST_KDF,
  });
}

export async function makeFileStoreFixture(): Promise<StoreFixture & { dir: string }> {
  const { dir, cleanup } = await tempDir('tw-store-');
  const config: FileStoreConfig = { dir };
  return {
    dir,
    open: (password) => openStore(config, password),
    worker: { module: fileURLToPath(import.meta.url), config },
    cleanup,
  };
}
