import { dirname } from 'node:path';
import type { TokenConfig } from '../config/index.js';
import { checkPathSafe, type FileRead, fileIdentity, readFileWithIdentity } from '../files/index.js';
import { decodeToken, nowSeconds } from '../tokens/index.js';
import { type Candidate, type CurrentToken, planToken } from './plan.js';

/**
 * Reads a token file and decides whether it is due (planToken). `safeDirs` remembers, for one run, which
 * token directories passed checkPathSafe.
 */
export async function inspectCandidate(
  token: TokenConfig,
  clock: () => number,
  force?: boolean,
  safeDirs?: Map<string, Promise<boolean>>,
): Promise<Candidate> {
  const { current, identity } = await readCurrent(token.tokenPath, safeDirs);
  return planToken(token, current, nowSeconds(clock), force, identity);
}

async function readCurrent(
  path: string,
  safeDirs?: Map<string, Promise<boolean>>,
): Promise<{ current: CurrentToken; identity?: string | undefined }> {
  // A token reached through a directory another user planted is not ours to trust as fresh: counted as
  // unreadable, it is due, and the preflight refuses it with the reason (docs/architecture.md invariant 9).
  if (!(await isSafeDirectory(dirname(path), safeDirs))) return { current: 'unreadable' };
  let read: FileRead | undefined;
  try {
    read = await readFileWithIdentity(path, { maxBytes: 64 * 1024 });
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

/** checkPathSafe of a token directory, once per directory per run when `memo` is given. */
function isSafeDirectory(dir: string, memo?: Map<string, Promise<boolean>>): Promise<boolean> {
  let verdict = memo?.get(dir);
  if (verdict === undefined) {
    verdict = checkPathSafe(dir, 'read').then(
      () => true,
      () => false,
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
