export { resolveGid, resolveUid } from './ids.js';
export { acquireLock, type Lock, type LockOptions, withLock } from './lock.js';
export {
  type FileRead,
  fileIdentity,
  type ReadFileOptions,
  readFileIfExists,
  readFileWithIdentity,
} from './read.js';
export { checkWriteTarget, type WriteFileAtomicOptions, writeFileAtomic } from './write-atomic.js';
