#!/usr/bin/env node
// The `tokenwarden` executable: everything else is in program.ts, so tests can call main() in-process.
import { lstatSync, mkdirSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join } from 'node:path';

/**
 * Node 22 and later can keep the compiled code of our modules on disk (module.enableCompileCache), which
 * saves much of `renew`'s start-up when it runs from a timer every few minutes. Node 20 has no such API
 * and this does nothing there. Compiled code is code: the cache lives in a directory only this user can
 * write (created 0700, used only while it and its parent are ours and 0700), never in a shared or world-writable place,
 * and any doubt means no cache. $NODE_COMPILE_CACHE, when set, is Node's own choice and wins.
 */
function enableCompileCache(env: NodeJS.ProcessEnv): void {
  const enable = (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (typeof enable !== 'function' || env.NODE_COMPILE_CACHE || env.TOKENWARDEN_NO_COMPILE_CACHE) return;
  // systemd's CacheDirectory= gives a service $CACHE_DIRECTORY; otherwise the XDG cache of the user.
  const base =
    env.CACHE_DIRECTORY?.split(':')[0] || env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : '');
  if (!base.startsWith('/')) return;
  const dir = join(base, 'tokenwarden', 'compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Both levels ours and closed to others: nobody else can swap the directory under us.
    for (const d of [join(base, 'tokenwarden'), dir]) {
      const st = lstatSync(d);
      if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return;
    }
    enable(dir);
  } catch {
    // A read-only home (ProtectHome=) or any other failure: run without the cache.
  }
}

enableCompileCache(process.env);
const { main, makeIO, reportError } = await import('./program.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(err, makeIO());
  },
);
