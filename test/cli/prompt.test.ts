import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Runs the CLI on a real pseudo-terminal (python3's pty module) and types `typed` the moment `prompt`
 * shows. Reports whether the terminal still echoed at that moment, and everything the terminal showed.
 */
const PTY_DRIVER = String.raw`
import json, os, pty, select, sys, termios
prompt, typed = os.environ['PROMPT'].encode(), os.environ['TYPED'].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
shown, echo, sent = b'', None, False
while True:
    ready, _, _ = select.select([fd], [], [], 30)
    if not ready:
        break
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
    if not sent and prompt in shown:
        echo = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        os.write(fd, typed + b'\r')
        sent = True
_, status = os.waitpid(pid, 0)
print(json.dumps({'echo': echo, 'shown': shown.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
`;

interface PtyRun {
  echo: boolean | null;
  shown: string;
  code: number;
}

function runOnPty(args: string[], prompt: string, typed: string): Promise<PtyRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PTY_DRIVER, process.execPath, CLI, ...args], {
      env: { ...process.env, PROMPT: prompt, TYPED: typed },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as PtyRun);
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe('the no-echo prompt on a terminal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(async () => cleanup());

  it('has echo off when the question appears, so a secret typed at once is not shown', async () => {
    const typed = 'typed-at-once-secret-5521';
    const run = await runOnPty(
      [
        'setup',
        'robot',
        '--manual',
        '--client-id',
        'cid',
        '--issuer',
        'http://127.0.0.1:1',
        '--config',
        join(dir, 'config.ini'),
      ],
      'client secret for cid: ',
      typed,
    );
    assert.equal(run.echo, false, run.shown);
    assert.ok(!run.shown.includes(typed), run.shown);
    // The prompt took the secret and setup went on to the (absent) issuer.
    assert.equal(run.code, 5, run.shown);
    assert.match(run.shown, /cannot reach the issuer/);
  });
});
