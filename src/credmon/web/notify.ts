import { join } from 'node:path';
import { TokenwardenError } from '../../errors.js';
import { readFileIfExists } from '../../files/index.js';

/** The credmon's pid file in the credential directory: decimal, no newline (the CredD reads at most 256 bytes). */
const PID_FILE = 'pid';

/**
 * The `onStored` of `credmon --web-only`: tells the credmon running beside it that new tokens are in,
 * exactly as the CredD does after storing a `.top`, with a SIGHUP to the pid in `<credDir>/pid`. A pid
 * file that is missing or not a positive decimal number is an error naming it (the login's files are
 * written all the same; the credmon's own scan finds them within its scan interval).
 */
export async function signalCredmonPid(credDir: string): Promise<number> {
  const path = join(credDir, PID_FILE);
  const text = await readFileIfExists(path, { maxBytes: 256 });
  if (text === undefined)
    throw new TokenwardenError('FILE_IO', `no credmon pid file ${path}: is the credmon running?`);
  const trimmed = text.trim();
  if (!/^[1-9][0-9]{0,9}$/.test(trimmed))
    throw new TokenwardenError('FILE_IO', `the credmon pid file ${path} does not hold a process id`);
  const pid = Number(trimmed);
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    throw new TokenwardenError(
      'FILE_IO',
      `cannot signal the credmon (pid ${pid} from ${path}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  return pid;
}
