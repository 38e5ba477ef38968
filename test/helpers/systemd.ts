import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `systemd-analyze verify` on unit files in `dir` (user units need a runtime directory to resolve %t).
 * systemd's own parser exits non-zero on unknown keys and bad values.
 */
export async function systemdVerify(
  dir: string,
  units: string[],
  user = false,
): Promise<{ code: number; output: string }> {
  const runtime = join(dir, 'runtime');
  await mkdir(runtime, { recursive: true, mode: 0o700 });
  const args = ['verify', ...(user ? ['--user'] : []), ...units.map((u) => join(dir, u))];
  return new Promise((resolve) => {
    execFile(
      'systemd-analyze',
      args,
      { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}
