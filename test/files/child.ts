/**
 * Child process for the cross-process tests of src/files: `node child.js MODE JSON-ARGS`. Prints one
 * JSON line on stdout when it has done its part (or holds its lock).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { TokenwardenError } from '../../src/errors.js';
import { acquireLock, withLock, writeFileAtomic } from '../../src/files/index.js';

interface Args {
  path: string;
  lockPath: string;
  value: string;
  size: number;
  count: number;
}

const [mode, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as Args;

function report(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

switch (mode) {
  case 'write-loop':
    // Rewrites one path many times with a large value (one character repeated), for the
    // readers-never-see-partial test.
    for (let i = 0; i < args.count; i++) await writeFileAtomic(args.path, args.value.repeat(args.size));
    report({ done: true });
    break;
  case 'write-once':
    // Run under `ulimit -f`, so the write fails half-way with EFBIG.
    try {
      await writeFileAtomic(args.path, 'x'.repeat(args.size));
      report({ ok: true });
    } catch (err) {
      const e = err as TokenwardenError;
      report({ code: e.code, message: e.message, isTokenwardenError: err instanceof TokenwardenError });
    }
    break;
  case 'lock-count':
    // Unsafe read-modify-write of a counter: only the lock keeps it exact.
    for (let i = 0; i < args.count; i++) {
      await withLock(args.lockPath, { timeoutMs: 30_000 }, async () => {
        const n = Number(readFileSync(args.path, 'utf8'));
        await yieldToLoop();
        writeFileSync(args.path, String(n + 1));
      });
    }
    report({ done: true });
    break;
  case 'lock-hold':
    await acquireLock(args.lockPath, { timeoutMs: 5_000 });
    report({ locked: true });
    setInterval(() => undefined, 60_000);
    break;
  default:
    throw new Error(`unknown mode ${String(mode)}`);
}
