import { TokenwardenError } from '../errors.js';
import { Secret } from '../secret.js';
import type { CliIO } from './command.js';

/**
 * Reads one secret line: on a terminal without echo; from a pipe, its first line. Never from argv.
 */
export async function promptSecret(io: CliIO, question: string): Promise<Secret> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (io.stdinIsTTY && typeof stdin.setRawMode === 'function') {
    // Echo off first: a password typed the moment the question shows must never be echoed.
    stdin.setRawMode(true);
    io.err(question);
    stdin.resume();
    try {
      const value = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const onData = (chunk: Buffer) => {
          for (const ch of chunk.toString('utf8')) {
            if (ch === '\r' || ch === '\n') {
              stdin.off('data', onData);
              resolve(buf);
              return;
            }
            if (ch === '\u0003') {
              stdin.off('data', onData);
              reject(new TokenwardenError('USAGE', 'cancelled'));
              return;
            }
            if (ch === '\u007f') buf = buf.slice(0, -1);
            else buf += ch;
          }
        };
        stdin.on('data', onData);
      });
      return new Secret(value);
    } finally {
      stdin.setRawMode(false);
      stdin.pause();
      io.err('\n');
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) {
    chunks.push(Buffer.from(chunk as Buffer));
    if (Buffer.concat(chunks).includes(10)) break;
  }
  const line = Buffer.concat(chunks).toString('utf8').split('\n')[0]?.replace(/\r$/, '') ?? '';
  if (line === '') {
    throw new TokenwardenError('USAGE', `${question.replace(/:\s*$/, '')}: nothing on standard input`);
  }
  return new Secret(line);
}
