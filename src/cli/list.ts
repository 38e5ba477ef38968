import { askAgent } from './agent-client.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'list',
  summary: 'List the accounts loaded in the agent.',
  usage: 'list [--json]',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  async run(_args, io) {
    const reply = await askAgent(io, { request: 'tw_list' });
    const accounts = reply.accounts as Array<{ account: string; issuer: string; expires_at: number | null }>;
    const text = accounts.length
      ? accounts
          .map(
            (a) =>
              `${a.account}  ${a.issuer}${a.expires_at ? `  (until ${new Date(a.expires_at * 1000).toISOString()})` : ''}`,
          )
          .join('\n')
      : 'no accounts loaded';
    return { text, json: accounts };
  },
};
