import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSodium } from '../../../src/agent/oidc-agent/index.js';

/** A raw client connection that records everything the server sends and when it hung up. */
export interface RawConnection {
  socket: Socket;
  send(data: string | Buffer): void;
  /** Resolves with all received text once `done(text)` holds (rejects after timeoutMs). */
  waitFor(done: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with all received text once the server closed the connection. */
  closed: Promise<string>;
}

export async function openRaw(path: string): Promise<RawConnection> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    for (const w of waiters) w();
  });
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  return {
    socket,
    send: (data) => socket.write(data),
    waitFor(done, timeoutMs = 3000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          if (done(text)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(text);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting; received ${JSON.stringify(text.slice(0, 200))}`));
        }, timeoutMs);
        waiters.add(check);
        socket.once('close', check);
        check();
      });
    },
    closed,
  };
}

export interface EncryptedExchange {
  /** Everything the server sent after its public key. */
  raw: string;
  /** The reply, decrypted (or parsed, when the server answered in plain JSON). */
  reply: Record<string, unknown> | undefined;
  encrypted: boolean;
}

/**
 * The client side of oidc-agent 4.x's encrypted IPC, written from the observed behaviour of oidc-token, for
 * tests that need to misbehave: split messages, tamper with the ciphertext, lie about the length.
 */
export async function encryptedRequest(
  path: string,
  request: Record<string, unknown> | string,
  options: { chunks?: number; delayMs?: number; tamper?: boolean; declaredLength?: number } = {},
): Promise<EncryptedExchange> {
  const sodium = await loadSodium();
  const conn = await openRaw(path);
  const pair = sodium.crypto_kx_keypair();
  const sendSplit = async (data: string) => {
    const n = options.chunks ?? 1;
    const size = Math.ceil(data.length / n);
    for (let i = 0; i < data.length; i += size) {
      conn.send(data.slice(i, i + size));
      if (options.delayMs) await sleep(options.delayMs);
    }
  };
  await sendSplit(Buffer.from(pair.publicKey).toString('base64'));
  const serverPkB64 = (await conn.waitFor((t) => t.length >= 44)).slice(0, 44);
  const key = sodium.crypto_box_beforenm(Buffer.from(serverPkB64, 'base64'), pair.privateKey);
  const plain = Buffer.from(typeof request === 'string' ? request : JSON.stringify(request));
  const nonce = sodium.randombytes_buf(24);
  const cipher = sodium.crypto_secretbox_easy(plain, nonce, key);
  if (options.tamper) cipher[cipher.length - 1] = (cipher[cipher.length - 1] ?? 0) ^ 1;
  const length = options.declaredLength ?? plain.length;
  await sendSplit(
    `${length}:${Buffer.from(nonce).toString('base64')}:${Buffer.from(cipher).toString('base64')}`,
  );
  const raw = (await conn.closed).slice(44);
  if (raw.startsWith('{')) return { raw, reply: JSON.parse(raw), encrypted: false };
  const [, n, c] = raw.split(':');
  if (n === undefined || c === undefined) return { raw, reply: undefined, encrypted: true };
  const opened = sodium.crypto_secretbox_open_easy(Buffer.from(c, 'base64'), Buffer.from(n, 'base64'), key);
  return { raw, reply: JSON.parse(Buffer.from(opened).toString('utf8')), encrypted: true };
}

/** Sends a plain JSON request (oidc-agent's IPC-API) and returns the raw reply text. */
export async function plainRequest(path: string, text: string): Promise<string> {
  const conn = await openRaw(path);
  conn.send(text);
  return conn.closed;
}

export const OIDC_TOKEN = '/usr/bin/oidc-token';
export const HAVE_OIDC_TOKEN = existsSync(OIDC_TOKEN);

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real oidc-token against the socket at `sock`. */
export function runOidcToken(sock: string, args: string[], timeoutMs = 10_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      OIDC_TOKEN,
      args,
      { env: { ...process.env, OIDC_SOCK: sock }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
