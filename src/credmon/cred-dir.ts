import { lstatSync, type Stats } from 'node:fs';
import { open, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';

/**
 * The credmon's side of the process contract with HTCondor (credmon_interface.cpp, the Python
 * credmon's utils.py): the credential directory must not be open to others; `pid` holds the credmon's
 * process id (decimal, no newline) for the CredD's SIGHUP; `CREDMON_COMPLETE` is removed at start and
 * touched after every full pass, and the CredD, schedd and shadow wait for it.
 */

export const PID_FILE = 'pid';
export const COMPLETE_FILE = 'CREDMON_COMPLETE';
/** The web app's session key (24 random bytes, 0400). */
export const SESSION_KEY_FILE = 'wsgi_session_key';

/**
 * Refuses a credential directory that is missing, not a directory, a symlink, or has any "other"
 * permission bit: every user's tokens are in it. The Python credmon raises a RuntimeError there (exit 1,
 * and the master restarts it in a loop); we throw CONFIG_INVALID, which the command maps to 99 (the
 * master's do-not-restart status), because only an administrator can mend it.
 */
export async function checkCredDir(credDir: string): Promise<Stats> {
  let st: Stats;
  try {
    st = lstatSync(credDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `the credential directory ${credDir} cannot be used: ${code === 'ENOENT' ? 'it does not exist' : String(code)}`,
      {
        hint: 'create it as the CredD does (root:condor, mode 2770), or set SEC_CREDENTIAL_DIRECTORY_OAUTH / --cred-dir',
      },
    );
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `the credential directory ${credDir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`,
      { hint: 'point SEC_CREDENTIAL_DIRECTORY_OAUTH (or --cred-dir) at the real directory' },
    );
  }
  if ((st.mode & 0o007) !== 0) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `the credential directory ${credDir} is readable, writable or searchable by others (mode ${(st.mode & 0o7777).toString(8)})`,
      { hint: `chmod o-rwx ${credDir} (HTCondor creates it root:condor 2770)` },
    );
  }
  return st;
}

/** Writes `pid`: the decimal process id, no newline, atomically (the CredD reads it at any time). */
export async function writePidFile(credDir: string, pid = process.pid): Promise<void> {
  await writeFileAtomic(join(credDir, PID_FILE), String(pid), { mode: 0o644 });
}

/** Removes `CREDMON_COMPLETE` (at start: nothing has been scanned yet). */
export async function markIncomplete(credDir: string): Promise<void> {
  await rm(join(credDir, COMPLETE_FILE), { force: true });
}

/** Touches `CREDMON_COMPLETE` (after every full pass). */
export async function markComplete(credDir: string, now: Date = new Date()): Promise<void> {
  const path = join(credDir, COMPLETE_FILE);
  const handle = await open(path, 'a', 0o644);
  await handle.close();
  await utimes(path, now, now);
}

/** Whether `CREDMON_COMPLETE` exists (for tests and the readiness probe). */
export async function isComplete(credDir: string): Promise<boolean> {
  return stat(join(credDir, COMPLETE_FILE)).then(
    () => true,
    () => false,
  );
}
