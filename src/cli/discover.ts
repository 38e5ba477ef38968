import { readFileIfExists } from '../files/index.js';
import {
  decodeToken,
  discoverBearerToken,
  discoverySteps,
  formatDuration,
  nowSeconds,
} from '../tokens/index.js';
import type { Command } from './command.js';
import { JSON_OPTION } from './shared.js';

export const command: Command = {
  name: 'discover',
  summary: 'Run WLCG bearer-token discovery and say where the token came from.',
  usage: 'discover [--json]',
  details: `Order: $BEARER_TOKEN, $BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid> (if XDG_RUNTIME_DIR is
set), else /tmp/bt_u<uid>. Exit status 1 when no token is found.`,
  options: { ...JSON_OPTION },
  async run(_args, io) {
    const steps = discoverySteps(io.env, io.uid);
    const found = await discoverBearerToken(io.env, io.uid, (p) => readFileIfExists(p));
    const order = steps.map((s) => (s.path ? `${s.source}: ${s.path}` : s.source));
    if (!found) {
      return {
        exitCode: 1,
        json: { found: false, order },
        text: ['no bearer token found; looked at:', ...order.map((o) => `  ${o}`)].join('\n'),
      };
    }
    let left: number | undefined;
    try {
      const exp = decodeToken(found.token).claims.exp;
      left = typeof exp === 'number' ? exp - nowSeconds() : undefined;
    } catch {
      left = undefined;
    }
    const where = found.path ?? '$BEARER_TOKEN';
    return {
      json: { found: true, source: found.source, path: found.path ?? null, expires_in: left ?? null, order },
      text: `${where} (from ${found.source})${left === undefined ? '' : `, expires in ${formatDuration(left)}`}`,
    };
  },
};
