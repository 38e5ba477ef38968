export type { CredentialStore, SaveReservation } from './contract.js';
export { createFileStore, DEFAULT_LOCK_TIMEOUT_MS, type FileStoreOptions } from './file-store.js';
export type { AccountRecord } from './record.js';
export {
  createKdfParams,
  DEFAULT_KDF_COST,
  deriveKey,
  GENERATED_PASSWORD_KDF_COST,
  type KdfCost,
  type KdfParams,
  openRecord,
  parseEnvelope,
  type SealedEnvelope,
  sealRecord,
} from './seal.js';
