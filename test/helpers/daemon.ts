import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeToken } from '../../src/tokens/index.js';
import { CLI, transcript } from './cli.js';
import type { World } from './world.js';

/** A running `tokenwarden daemon`, its stderr collected as it comes. */
export interface DaemonProcess {
  child: ChildProcess;
  stderr(): string;
  /** Waits until stderr matches (a safety net bounds the wait; no timing is asserted). */
  waitFor(pattern: RegExp, from?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The base URL the daemon serves on (from its `daemon.serving url=URL` line); waits for it. */
  url(): Promise<string>;
}

/** Starts the daemon on world's config; it serves HTTP on a free loopback port unless `extra` says --listen. */
export function startDaemon(world: World, extra: string[] = []): DaemonProcess {
  const listen = extra.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
  const child = spawn(process.execPath, [CLI, 'daemon', '--config', world.config, ...listen, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => transcript.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      transcript.push(err);
      resolve({ code, signal });
    });
  });
  const waitFor = async (pattern: RegExp, from = 0) => {
    for (let i = 0; i < 1500 && !pattern.test(err.slice(from)); i++) {
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    assert.match(err.slice(from), pattern);
  };
  return {
    child,
    stderr: () => err,
    exited,
    waitFor,
    async url() {
      const serving = /daemon\.serving url=(\S+) /;
      await waitFor(serving);
      return (serving.exec(err) as RegExpExecArray)[1] as string;
    },
  };
}

export async function tokenExp(path: string): Promise<number> {
  const exp = decodeToken(await readFile(path, 'utf8')).claims.exp;
  assert.equal(typeof exp, 'number');
  return exp as number;
}
