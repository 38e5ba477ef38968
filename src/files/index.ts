export { resolveGid, resolveUid } from './ids.js';
export { acquireLock, type Lock, type LockOptions, lockFileBeside, withLock } from './lock.js';
export { checkPathSafe, isShared, type PathPurpose } from './path-safety.js';
export {
  type FileRead,
  fileIdentity,
  isLocalFilesystemType,
  onLocalDisk,
  type ReadFileOptions,
  readFileIfExists,
  readFileWithIdentity,
  readFileWithIdentitySync,
} from './read.js';
export { STALE_TEMP_AGE_MS, sweepStaleTemps } from './stale-temps.js';
export {
  checkWriteTarget,
  reserveAtomicWrite,
  type WriteFileAtomicOptions,
  type WriteReservation,
  writeFileAtomic,
} from './write-atomic.js';
