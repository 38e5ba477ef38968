import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../files/index.js';
import type { CredFileKind } from './names.js';

/**
 * Reading and writing the files of the HTCondor credential directory. Every write is atomic (a temp file
 * created exclusively beside the target, fsynced, renamed, the directory fsynced), mode 0400 and owned by
 * the writer (root under the condor_master): what the shadow and starter accept under HTCondor's
 * `read_secure_file` rules (owner root, `mode & 077 == 0`). The Python credmon makes its temp file in
 * the top of the credential directory; ours is made in the user's directory, on the same file system, so
 * the rename is just as atomic and a crash leaves no stray file where the CredD looks for key files.
 * Names must have passed names.ts before they reach here.
 */

/** The mode of every file the credmon writes in the credential directory. */
export const CRED_FILE_MODE = 0o400;
/** Bound on a credential file read: `.top`/`.use`/`.meta` are a few kilobytes. */
export const MAX_CRED_FILE_BYTES = 256 * 1024;

/** `<credDir>/<user>/<name>.<kind>` */
export function credFilePath(credDir: string, user: string, name: string, kind: CredFileKind): string {
  return join(credDir, user, `${name}.${kind}`);
}

/** Writes one credential file atomically, mode 0400. */
export async function writeCredFile(
  credDir: string,
  user: string,
  name: string,
  kind: CredFileKind,
  data: string | Uint8Array,
): Promise<void> {
  await writeFileAtomic(credFilePath(credDir, user, name, kind), data, { mode: CRED_FILE_MODE });
}

/**
 * The text of one credential file, or undefined when it does not exist. A symlink, a FIFO or a file over
 * MAX_CRED_FILE_BYTES is refused with a TokenwardenError (FILE_UNSAFE / FILE_IO), never followed or read.
 */
export async function readCredFile(
  credDir: string,
  user: string,
  name: string,
  kind: CredFileKind,
): Promise<string | undefined> {
  return readFileIfExists(credFilePath(credDir, user, name, kind), { maxBytes: MAX_CRED_FILE_BYTES });
}
