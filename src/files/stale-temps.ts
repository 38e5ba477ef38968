import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A temp file untouched for this long belongs to a writer that died (SIGKILL, power loss): a live write
 * holds its temp for milliseconds, and a reserved credential slot for one refresh request.
 */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

/** The names writeFileAtomic gives its temp files: `.<target name>.<12 hex digits>.tmp`. */
export const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Directories swept by this process: one readdir per directory per process, however many writes. */
const swept = new Set<string>();

/**
 * Removes, once per directory per process, the temp files killed writers left in `dir`: only names of
 * our own pattern, only regular files, only files owned by our effective uid, only when their mtime is
 * older than STALE_TEMP_AGE_MS. Best effort: a failure to list or remove is ignored (the write goes on).
 * In a sticky directory nobody else can rename or replace a file we own, so what we lstat'ed is what we
 * unlink.
 */
export async function sweepStaleTemps(dir: string, now: number = Date.now()): Promise<number> {
  if (swept.has(dir)) return 0;
  swept.add(dir);
  const euid = process.geteuid?.();
  let removed = 0;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => TEMP_NAME.test(n));
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (!st.isFile() || (euid !== undefined && st.uid !== euid)) continue;
      if (now - st.mtimeMs <= STALE_TEMP_AGE_MS) continue;
      await unlink(path);
      removed++;
    } catch {
      // Gone already (another run swept it), or not ours to remove.
    }
  }
  return removed;
}
