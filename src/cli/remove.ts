import { TokenwardenError } from '../errors.js';
import { askAgent } from './agent-client.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'remove',
  summary: 'Unload an account from the agent (its stored credential stays).',
  usage: 'remove ACCOUNT',
  allowPositionals: true,
  options: {},
  async run(args, io) {
    const name = args.positionals[0];
    if (!name || args.positionals.length > 1) throw new TokenwardenError('USAGE', 'remove needs one ACCOUNT');
    await askAgent(io, { request: 'tw_remove', account: name });
    return { text: `account ${name} unloaded` };
  },
};
