import { connect } from 'node:net';
import { TokenwardenError } from '../errors.js';
import type { AgentReply } from './protocol.js';

/**
 * Sends one request to the agent and reads its reply (plain JSON transport: one request per connection,
 * reply read until the agent closes). Every call has a deadline.
 */
export function agentRequest(
  socketPath: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TokenwardenError(
          'TIMEOUT',
          `the agent at ${socketPath} did not answer within ${timeoutMs / 1000}s`,
        ),
      );
    }, timeoutMs);
    socket.on('connect', () => socket.end(JSON.stringify(request)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const absent = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      reject(
        new TokenwardenError(
          absent ? 'USAGE' : 'NETWORK',
          absent ? 'the agent is not running' : `agent socket: ${err.code}`,
          {
            hint: absent ? 'start it with: eval "$(tokenwarden agent)"' : undefined,
          },
        ),
      );
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text) as AgentReply);
      } catch {
        reject(new TokenwardenError('INTERNAL', 'the agent sent an unreadable reply'));
      }
    });
  });
}
