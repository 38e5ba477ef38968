import { StringDecoder } from 'node:string_decoder';
import {
  decryptIpcMessage,
  encryptIpcMessage,
  isPlainJsonStart,
  parseJsonObject,
  type ScanResult,
  scanEncryptedMessage,
  scanJsonObject,
  scanPublicKey,
  serverKeyExchange,
} from './ipc-message.js';
import type { Sodium } from './sodium.js';

export type OidcAgentIpcRejection = 'malformed' | 'too-large' | 'bad-public-key' | 'decrypt-failed';

/** What the transport has to do after feeding bytes to the session. */
export type OidcAgentIpcStep =
  /** Keep reading. */
  | { type: 'wait' }
  /** Write `data` (the server's public key) and keep reading. */
  | { type: 'write'; data: string }
  /** A whole request arrived: call the handler, then write `session.encodeReply(reply)` and close. */
  | { type: 'request'; request: Record<string, unknown>; encrypted: boolean }
  /** Write `data` (a failure reply) and close; nothing more is read. */
  | { type: 'reject'; data: string; reason: OidcAgentIpcRejection };

export type OidcAgentIpcState = 'hello' | 'request' | 'handling' | 'done';

/**
 * The server side of one oidc-agent IPC connection as a state machine over bytes, independent of the
 * socket: `receive()` bytes as they arrive, act on the returned step. One request per connection, as
 * oidc-agent serves it and as `oidc-token` 4.2.6 uses it (it closes after reading the reply).
 */
export interface OidcAgentIpcSession {
  readonly state: OidcAgentIpcState;
  receive(chunk: Uint8Array): OidcAgentIpcStep;
  /** The client finished sending (EOF). Before a whole request, that is a malformed one. */
  end(): OidcAgentIpcStep;
  /** The reply to the request, encrypted when the request was. Ends the session. */
  encodeReply(reply: Record<string, unknown>): string;
}

export interface OidcAgentIpcSessionOptions {
  /** Largest message accepted, in bytes (default 64 KiB). */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

const REJECTION_MESSAGES: Record<OidcAgentIpcRejection, string> = {
  malformed: 'malformed IPC message',
  'too-large': 'IPC message too large',
  'bad-public-key': 'invalid public key in IPC key exchange',
  'decrypt-failed': 'could not decrypt IPC message',
};

/** oidc-agent's failure reply (`{"status":"failure","error":"..."}`), always in plain JSON. */
export function ipcFailureReply(reason: OidcAgentIpcRejection): string {
  return JSON.stringify({ status: 'failure', error: REJECTION_MESSAGES[reason] });
}

export function createOidcAgentIpcSession(
  sodium: Sodium,
  options: OidcAgentIpcSessionOptions = {},
): OidcAgentIpcSession {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let state: OidcAgentIpcState = 'hello';
  let mode: 'plain' | 'encrypted' | undefined;
  let key: Uint8Array | undefined;
  let decoder = new StringDecoder('utf8');
  let text = '';
  let bytes = 0;

  const finish = () => {
    state = 'done';
    text = '';
  };
  const reject = (reason: OidcAgentIpcRejection): OidcAgentIpcStep => {
    if (key) sodium.memzero(key);
    key = undefined;
    finish();
    return { type: 'reject', data: ipcFailureReply(reason), reason };
  };
  const nextMessage = () => {
    decoder = new StringDecoder('utf8');
    text = '';
    bytes = 0;
  };

  const onHello = (): OidcAgentIpcStep => {
    mode ??= isPlainJsonStart(text) ? 'plain' : text.trimStart() === '' ? undefined : 'encrypted';
    if (mode === undefined) return { type: 'wait' };
    const scan: ScanResult = mode === 'plain' ? scanJsonObject(text) : scanPublicKey(text);
    if (scan.status === 'invalid') return reject(scan.reason);
    if (scan.status === 'incomplete') return { type: 'wait' };
    if (mode === 'plain') {
      const request = parseJsonObject(text);
      if (!request) return reject('malformed');
      state = 'handling';
      text = '';
      return { type: 'request', request, encrypted: false };
    }
    const exchange = serverKeyExchange(sodium, text);
    if (!exchange) return reject('bad-public-key');
    key = exchange.key;
    state = 'request';
    nextMessage();
    return { type: 'write', data: exchange.serverPublicKeyB64 };
  };

  const onRequest = (): OidcAgentIpcStep => {
    const scan = scanEncryptedMessage(text, maxBytes);
    if (scan.status === 'invalid') return reject(scan.reason);
    if (scan.status === 'incomplete') return { type: 'wait' };
    const plain = key ? decryptIpcMessage(sodium, key, text) : undefined;
    text = '';
    if (plain === undefined) return reject('decrypt-failed');
    const request = parseJsonObject(plain);
    state = 'handling';
    if (!request) {
      // The channel works, so answer encrypted, as oidc-agent does for a request it cannot parse.
      return {
        type: 'reject',
        data: encodeReply({ status: 'failure', error: REJECTION_MESSAGES.malformed }),
        reason: 'malformed',
      };
    }
    return { type: 'request', request, encrypted: true };
  };

  const encodeReply = (reply: Record<string, unknown>): string => {
    const json: unknown = JSON.stringify(reply);
    if (typeof json !== 'string') throw new TypeError('the reply is not a JSON object');
    const out = mode === 'encrypted' && key ? encryptIpcMessage(sodium, key, json) : json;
    if (key) sodium.memzero(key);
    key = undefined;
    finish();
    return out;
  };

  return {
    get state() {
      return state;
    },
    receive(chunk) {
      if (state === 'handling' || state === 'done') return { type: 'wait' };
      bytes += chunk.length;
      if (bytes > maxBytes) return reject('too-large');
      text += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      return state === 'hello' ? onHello() : onRequest();
    },
    end() {
      return state === 'hello' || state === 'request' ? reject('malformed') : { type: 'wait' };
    },
    encodeReply,
  };
}
