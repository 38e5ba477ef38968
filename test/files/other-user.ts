import { execFile } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';

/** The second local user the fault tests act as: `nobody` exists everywhere, so nothing to clean up. */
export const OTHER_USER = 'nobody';
export const OTHER_UID = 65534;
export const OTHER_GID = 65534;

/** Runs `argv` as OTHER_USER (runuser: no password, no shell in between); rejects on a non-zero exit. */
export function runAsOther(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('runuser', ['-u', OTHER_USER, '--', ...argv], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')} as ${OTHER_USER}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * A fresh sticky world-writable directory (mode 1777, like /tmp but not /tmp itself) at `path`, whose
 * parents OTHER_USER can traverse.
 */
export async function makeSharedDir(parent: string, path: string): Promise<void> {
  await chmod(parent, 0o755);
  await mkdir(path);
  await chmod(path, 0o1777);
}
