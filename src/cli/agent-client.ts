import { agentRequest } from '../agent/client.js';
import { clientSocketPath } from '../agent/paths.js';
import type { SuccessReply } from '../agent/protocol.js';
import { type ErrorCode, TokenwardenError } from '../errors.js';
import type { CliIO } from './command.js';

/** Sends a request to the running agent; a failure reply becomes the agent's error (code kept). */
export async function askAgent(
  io: CliIO,
  request: Record<string, unknown>,
  timeoutMs = 30_000,
  socket = clientSocketPath(io.env),
): Promise<SuccessReply> {
  if (socket === undefined) {
    throw new TokenwardenError('USAGE', 'the agent is not running (no $TOKENWARDEN_SOCK)', {
      hint: 'start it with: eval "$(tokenwarden agent)"',
    });
  }
  const reply = await agentRequest(socket, request, timeoutMs);
  if (reply.status === 'success') return reply;
  throw new TokenwardenError((reply.code as ErrorCode | undefined) ?? 'INTERNAL', reply.error, {
    ...(reply.hint ? { hint: reply.hint } : {}),
  });
}
