export { resolveGid, resolveUid } from './ids.js';
export { acquireLock, type Lock, type LockOptions, withLock } from './lock.js';
export { type ReadFileOptions, readFileIfExists } from './read.js';
export { checkWriteTarget, type WriteFileAtomicOptions, writeFileAtomic } from './write-atomic.js';
