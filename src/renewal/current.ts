import { dirname } from 'node:path';
import type { TokenConfig } from '../config/index.js';
import {
  checkPathSafe,
  type FileRead,
  fileIdentity,
  onLocalDisk,
  readFileWithIdentity,
  readFileWithIdentitySync,
} from '../files/index.js';
import { decodeToken, nowSeconds } from '../tokens/index.js';
import { type Candidate, type CurrentToken, planToken } from './plan.js';

/**
 * What one run learnt of a token directory: 'unsafe' when checkPathSafe refused it, else whether it is on
 * a local filesystem (read without the thread pool) or not (read through it, so that a hung server
 * cannot hold the run past its deadline).
 */
export type DirVerdict = 'unsafe' | 'local' | 'remote';

/**
 * Reads a token file and decides whether it is due (planToken). `safeDirs` remembers, for one run, the
 * verdict on each token directory.
 */
export async function inspectCandidate(
  token: TokenConfig,
  clock: () => number,
  force?: boolean,
  safeDirs?: Map<string, Promise<DirVerdict>>,
): Promise<Candidate> {
  const { current, identity } = await readCurrent(token.tokenPath, safeDirs);
  return planToken(token, current, nowSeconds(clock), force, identity);
}

async function readCurrent(
  path: string,
  safeDirs?: Map<string, Promise<DirVerdict>>,
): Promise<{ current: CurrentToken; identity?: string | undefined }> {
  // A token reached through a directory another user planted is not ours to trust as fresh: counted as
  // unreadable, it is due, and the preflight refuses it with the reason (docs/architecture.md invariant 9).
  const verdict = await directoryVerdict(dirname(path), safeDirs);
  if (verdict === 'unsafe') return { current: 'unreadable' };
  let read: FileRead | undefined;
  try {
    const opts = { maxBytes: 64 * 1024 };
    read =
      verdict === 'local' ? readFileWithIdentitySync(path, opts) : await readFileWithIdentity(path, opts);
  } catch {
    return { current: 'unreadable' };
  }
  if (read === undefined) return { current: 'missing', identity: 'absent' };
  if (read.text.trim() === '') return { current: 'missing', identity: read.identity };
  try {
    return { current: decodeToken(read.text), identity: read.identity };
  } catch {
    return { current: 'unreadable', identity: read.identity };
  }
}

/** checkPathSafe and onLocalDisk of a token directory, once per directory per run when `memo` is given. */
function directoryVerdict(dir: string, memo?: Map<string, Promise<DirVerdict>>): Promise<DirVerdict> {
  let verdict = memo?.get(dir);
  if (verdict === undefined) {
    verdict = checkPathSafe(dir, 'read').then(
      async (): Promise<DirVerdict> => ((await onLocalDisk(dir)) ? 'local' : 'remote'),
      (): DirVerdict => 'unsafe',
    );
    memo?.set(dir, verdict);
  }
  return verdict;
}

/**
 * Is the token file still exactly what the candidate saw? Then its decision stands (time only makes a due
 * token more due), and the file need not be read again under the lock.
 */
export async function unchangedSince(c: Candidate): Promise<boolean> {
  if (c.identity === undefined) return false;
  const now = await fileIdentity(c.token.tokenPath).catch(() => null);
  if (now === null) return false;
  return (now ?? 'absent') === c.identity;
}
