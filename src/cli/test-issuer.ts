import { TokenwardenError } from '../errors.js';
import { startTestIssuer } from '../testing/index.js';
import { type Command, countOpt, listOpt, secondsOpt, stringOpt } from './command.js';

export const command: Command = {
  name: 'test-issuer',
  summary: 'Run the bundled test OpenID provider (WLCG-like) on 127.0.0.1 until stopped.',
  usage: 'test-issuer [--port N] [--auto-approve USER] [--client ID:SECRET]... [--token-ttl SECS]',
  details: `For trying tokenwarden without a real issuer, and for benchmarks. Supports discovery, dynamic
registration, device flow, authorization code + PKCE, refresh with rotation and reuse detection, client
credentials and token exchange; JWT access tokens with wlcg.ver, aud, scope and wlcg.groups. Its login
pages accept any user name. Everything is kept in memory. Prints the issuer URL, then serves until
SIGINT/SIGTERM. --client registers a client-credentials + refresh client with that id and secret.`,
  options: {
    port: { type: 'string', valueName: 'N', description: 'port on 127.0.0.1 (default: a free one)' },
    'auto-approve': {
      type: 'string',
      valueName: 'USER',
      description: 'approve every device code at once as USER',
    },
    client: { type: 'string', multiple: true, valueName: 'ID:SECRET', description: 'pre-register a client' },
    'token-ttl': { type: 'string', valueName: 'SECS', description: 'access token lifetime (default 3600)' },
  },
  async run(args, io) {
    const port = countOpt(args, 'port', 0, 0, 65535);
    const ttl = secondsOpt(args, 'token-ttl', 3600, { max: 30 * 86400 });
    const clients = listOpt(args, 'client').map((c) => {
      const i = c.indexOf(':');
      if (i <= 0) throw new TokenwardenError('USAGE', '--client takes ID:SECRET');
      return {
        client_id: c.slice(0, i),
        client_secret: c.slice(i + 1),
        grant_types: ['client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
      };
    });
    const autoApprove = stringOpt(args, 'auto-approve');
    const issuer = await startTestIssuer({
      port,
      accessTokenTtl: ttl,
      clients,
      ...(autoApprove ? { autoApproveDevice: autoApprove } : {}),
    });
    io.out(`${issuer.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await issuer.close();
    return { exitCode: 0 };
  },
};
