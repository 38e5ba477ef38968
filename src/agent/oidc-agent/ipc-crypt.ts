import type { Socket } from 'node:net';
import {
  createOidcAgentIpcSession,
  DEFAULT_MAX_MESSAGE_BYTES,
  type OidcAgentIpcRejection,
  type OidcAgentIpcStep,
} from './ipc-session.js';
import { loadSodium } from './sodium.js';

export const DEFAULT_IDLE_TIMEOUT_MS = 5000;

/** What happened on a connection; never carries request or reply contents. */
export type OidcAgentIpcEvent =
  | { type: 'served'; encrypted: boolean }
  | { type: 'rejected'; reason: OidcAgentIpcRejection }
  | { type: 'timeout' }
  | { type: 'handler-error' };

export interface ServeOidcAgentOptions {
  /** Largest message accepted, in bytes (default 64 KiB); a larger one gets a failure reply. */
  maxMessageBytes?: number;
  /**
   * Milliseconds a client may take to send each message (default 5 s), counted from the previous step
   * rather than from its last byte, so a client trickling bytes cannot hold the connection either.
   */
  idleTimeoutMs?: number;
  /** Observes connections (for logs and tests). */
  onEvent?: (event: OidcAgentIpcEvent) => void;
}

export type OidcAgentRequestHandler = (request: Record<string, unknown>) => Promise<Record<string, unknown>>;

const INTERNAL_FAILURE = { status: 'failure', error: 'internal error in the agent' };

/**
 * Serves one client connection the way oidc-agent 4.2.x does, so the real `oidc-token`, `oidc-add`
 * and liboidc-agent clients can use this agent: the key exchange and encrypted request/reply described in
 * ./ipc-message.ts, or a plain JSON request answered in plain JSON (oidc-agent's documented IPC-API).
 * `handle` gets the decrypted request and returns the reply object (`{"status":"success",...}` or
 * `{"status":"failure","error":"..."}`); if it throws, the client gets a generic failure. Each connection
 * is independent: a slow or silent client only ever holds its own socket.
 */
export function serveOidcAgentConnection(
  socket: Socket,
  handle: OidcAgentRequestHandler,
  opts: ServeOidcAgentOptions = {},
): void {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const emit = (event: OidcAgentIpcEvent) => {
    try {
      opts.onEvent?.(event);
    } catch {
      // An observer's bug must not break the connection.
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const arm = (onExpiry: () => void) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onExpiry, idleMs);
    timer.unref();
  };
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const idleExpired = () => {
    emit({ type: 'timeout' });
    socket.destroy();
  };
  // After the reply: give the client the same time to read it and hang up.
  const finish = (data: string) => {
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    arm(() => socket.destroy());
    socket.end(data);
  };

  // A client may half-close after its request (tokenwarden's own client does `socket.end(request)`); the
  // reply must still go out, which Node's default (end our side when theirs ends) would prevent.
  socket.allowHalfOpen = true;
  socket.on('error', () => socket.destroy());
  socket.on('close', disarm);
  arm(idleExpired);

  void loadSodium().then((sodium) => {
    if (socket.destroyed) return;
    const session = createOidcAgentIpcSession(sodium, {
      maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    });

    const respond = async (request: Record<string, unknown>, encrypted: boolean) => {
      let data: string;
      try {
        data = session.encodeReply(await handle(request));
        emit({ type: 'served', encrypted });
      } catch {
        emit({ type: 'handler-error' });
        data = session.encodeReply(INTERNAL_FAILURE);
      }
      finish(data);
    };

    const act = (step: OidcAgentIpcStep) => {
      switch (step.type) {
        case 'wait':
          return;
        case 'write':
          arm(idleExpired);
          socket.write(step.data);
          return;
        case 'request':
          disarm();
          void respond(step.request, step.encrypted);
          return;
        case 'reject':
          emit({ type: 'rejected', reason: step.reason });
          finish(step.data);
          return;
      }
    };

    // Bytes after the request are read and dropped (the session ignores them), so the client's
    // hang-up is seen and the socket is released as soon as it has read the reply.
    socket.on('data', (chunk: Buffer) => act(session.receive(chunk)));
    socket.on('end', () => act(session.end()));
  });
}
