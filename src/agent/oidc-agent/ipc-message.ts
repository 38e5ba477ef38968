import type { Sodium } from './sodium.js';

/**
 * The wire format of oidc-agent 4.x's encrypted IPC (src/ipc/cryptIpc.c, src/utils/crypt/ipcCryptUtils.c),
 * as pure functions. Messages carry no terminator and no length prefix: oidc-agent reads whatever is queued
 * on the socket, so each side writes one message with one write() and then waits for the answer. Here a
 * message is known to be complete from its own content, which also copes with a message split across reads.
 *
 * 1. client → server: its X25519 public key (crypto_kx_keypair), standard base64 with padding (44 chars).
 * 2. server → client: the server's public key, same encoding, from a fresh keypair per connection.
 * 3. Both sides compute ONE shared key, `crypto_box_beforenm(peer_pk, own_sk)` (X25519 + HSalsa20), and
 *    use it in both directions. (oidc-agent 2.x/3.x used crypto_kx_*_session_keys; 4.x does not.)
 * 4. client → server: `<plaintext bytes>:<nonce b64>:<ciphertext b64>` where the ciphertext is
 *    crypto_secretbox_easy (XSalsa20-Poly1305, 16-byte MAC first) with a random 24-byte nonce.
 * 5. server → client: the JSON reply in the same format, or a plain JSON object (the client accepts both;
 *    oidc-agent answers in plain JSON when it could not decrypt the request).
 */

export const IPC_PUBLIC_KEY_BYTES = 32;
export const IPC_NONCE_BYTES = 24;
export const IPC_MAC_BYTES = 16;

const B64_CHARS = /^[A-Za-z0-9+/]*$/;
const B64_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Length of standard padded base64 for `bytes` bytes. */
const b64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

export type ScanResult =
  | { status: 'incomplete' }
  | { status: 'complete' }
  | { status: 'invalid'; reason: 'malformed' | 'too-large' };

const INCOMPLETE: ScanResult = { status: 'incomplete' };
const COMPLETE: ScanResult = { status: 'complete' };
const MALFORMED: ScanResult = { status: 'invalid', reason: 'malformed' };
const TOO_LARGE: ScanResult = { status: 'invalid', reason: 'too-large' };

/** True when the first message is a plain-JSON request (oidc-agent's IPC-API) rather than a public key. */
export function isPlainJsonStart(text: string): boolean {
  return text.trimStart().startsWith('{');
}

/**
 * Decides whether `text` holds a whole JSON object: tracks string literals and nesting, so the object
 * ends where its outer brace closes; anything but whitespace after it, or unparseable JSON, is malformed.
 */
export function scanJsonObject(text: string): ScanResult {
  let depth = 0;
  let inString = false;
  let escaped = false;
  const start = text.length - text.trimStart().length;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth < 0) return MALFORMED;
      if (depth === 0) {
        if (text.slice(i + 1).trim() !== '') return MALFORMED;
        return parseJsonObject(text) === undefined ? MALFORMED : COMPLETE;
      }
    }
  }
  return INCOMPLETE;
}

/** Parses a JSON object; anything else (array, number, bad JSON) gives undefined. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Step 1: the client's public key, exactly 44 base64 characters. */
export function scanPublicKey(text: string): ScanResult {
  const want = b64Length(IPC_PUBLIC_KEY_BYTES);
  if (text.length > want) return MALFORMED;
  const body = text.endsWith('=') ? text.slice(0, -1) : text;
  if (!B64_CHARS.test(body)) return MALFORMED;
  if (text.length < want) return body.length === text.length ? INCOMPLETE : MALFORMED;
  return B64_PADDED.test(text) ? COMPLETE : MALFORMED;
}

/**
 * Step 4: `<plaintext length>:<nonce>:<ciphertext>`. The declared length fixes how long the ciphertext's
 * base64 must be, which is how the end of the message is found.
 */
export function scanEncryptedMessage(text: string, maxPlaintextBytes: number): ScanResult {
  const lenMatch = /^(\d*)(:?)/.exec(text);
  const digits = lenMatch?.[1] ?? '';
  if (digits.length > 10) return TOO_LARGE;
  if (lenMatch?.[2] !== ':') return digits.length === text.length ? INCOMPLETE : MALFORMED;
  if (digits === '') return MALFORMED;
  const plaintextBytes = Number(digits);
  if (plaintextBytes > maxPlaintextBytes) return TOO_LARGE;
  const rest = text.slice(digits.length + 1);
  const nonceLength = b64Length(IPC_NONCE_BYTES);
  const nonce = rest.slice(0, nonceLength);
  if (!B64_CHARS.test(nonce)) return MALFORMED;
  if (rest.length <= nonceLength) return INCOMPLETE;
  if (rest[nonceLength] !== ':') return MALFORMED;
  const cipher = rest.slice(nonceLength + 1);
  const want = b64Length(plaintextBytes + IPC_MAC_BYTES);
  if (cipher.length > want) return MALFORMED;
  if (cipher.length < want) return B64_CHARS.test(cipher) ? INCOMPLETE : MALFORMED;
  return B64_PADDED.test(cipher) ? COMPLETE : MALFORMED;
}

/** Steps 2-3 on the server: a fresh keypair, the shared key, and the public key to send back. */
export function serverKeyExchange(
  sodium: Sodium,
  clientPublicKeyB64: string,
): { key: Uint8Array; serverPublicKeyB64: string } | undefined {
  const clientPublicKey = Buffer.from(clientPublicKeyB64, 'base64');
  if (clientPublicKey.length !== IPC_PUBLIC_KEY_BYTES) return undefined;
  const pair = sodium.crypto_kx_keypair();
  try {
    // Throws for a low-order public key (all-zero shared secret), as libsodium returns -1.
    const key = sodium.crypto_box_beforenm(clientPublicKey, pair.privateKey);
    return { key, serverPublicKeyB64: Buffer.from(pair.publicKey).toString('base64') };
  } catch {
    return undefined;
  } finally {
    sodium.memzero(pair.privateKey);
  }
}

/** Encrypts one message for the wire: `<plaintext bytes>:<nonce b64>:<ciphertext b64>`. */
export function encryptIpcMessage(sodium: Sodium, key: Uint8Array, plaintext: string): string {
  const message = Buffer.from(plaintext, 'utf8');
  const nonce = sodium.randombytes_buf(IPC_NONCE_BYTES);
  const cipher = sodium.crypto_secretbox_easy(message, nonce, key);
  return `${message.length}:${Buffer.from(nonce).toString('base64')}:${Buffer.from(cipher).toString('base64')}`;
}

/** Decrypts a message accepted by scanEncryptedMessage; undefined when it fails authentication. */
export function decryptIpcMessage(sodium: Sodium, key: Uint8Array, message: string): string | undefined {
  const [digits, nonceB64, cipherB64] = message.split(':');
  if (digits === undefined || nonceB64 === undefined || cipherB64 === undefined) return undefined;
  const nonce = Buffer.from(nonceB64, 'base64');
  const cipher = Buffer.from(cipherB64, 'base64');
  if (nonce.length !== IPC_NONCE_BYTES || cipher.length !== Number(digits) + IPC_MAC_BYTES) return undefined;
  try {
    const plain = sodium.crypto_secretbox_open_easy(cipher, nonce, key);
    return Buffer.from(plain).toString('utf8');
  } catch {
    return undefined;
  }
}
