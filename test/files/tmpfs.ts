import { execFile } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve();
    });
  });
}

/** A small tmpfs mounted at `dir` (created when missing); `unmount` is idempotent (use it in after hooks). */
export interface Tmpfs {
  dir: string;
  unmount(): Promise<void>;
  remountReadOnly(): Promise<void>;
}

export async function mountTmpfs(dir: string, size = '1m', extra: string[] = []): Promise<Tmpfs> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', [`size=${size}`, 'mode=0755', ...extra].join(','), 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await run('umount', [dir]);
    },
    remountReadOnly: () => run('mount', ['-o', 'remount,ro', dir]),
  };
}

/**
 * Fills the file system holding `dir` until a write fails with ENOSPC; returns the filler's path
 * (remove it to free the space again).
 */
export async function fillUp(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          await handle.write(chunk.subarray(0, size));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return path;
}
