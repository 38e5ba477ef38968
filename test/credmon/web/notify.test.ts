/** `credmon --web-only` tells the credmon of a finished login as the CredD does: SIGHUP to `<credDir>/pid`. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { signalCredmonPid } from '../../../src/credmon/web/index.js';
import { tempDir } from '../../helpers/tmp.js';

describe('signalCredmonPid', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('sends SIGHUP to the pid the credmon wrote (decimal, no newline)', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    // A stand-in credmon: says it is ready, exits 0 on SIGHUP.
    const child = spawn(
      process.execPath,
      [
        '-e',
        "process.on('SIGHUP', () => process.exit(0)); console.log('ready'); setInterval(() => {}, 1000);",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await once(child.stdout, 'data');
    await writeFile(join(tmp.dir, 'pid'), String(child.pid));
    const exited = once(child, 'exit');
    assert.equal(await signalCredmonPid(tmp.dir), child.pid);
    const [code] = await exited;
    assert.equal(code, 0);
  });

  it('says what is wrong with a missing or garbled pid file', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    await assert.rejects(signalCredmonPid(tmp.dir), /no credmon pid file .*\/pid: is the credmon running\?/);
    await writeFile(join(tmp.dir, 'pid'), '12ab');
    await assert.rejects(signalCredmonPid(tmp.dir), /does not hold a process id/);
  });
});
