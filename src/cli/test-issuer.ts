import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import { startTestIssuer } from '../testing/index.js';
import { type Command, countOpt, secondsOpt, stringOpt } from './command.js';

export const command: Command = {
  name: 'test-issuer',
  summary: 'Run the bundled test OpenID provider (WLCG-like) on 127.0.0.1 until stopped.',
  usage:
    'test-issuer [--port N] [--auto-approve USER] [--clients-file FILE] [--token-ttl SECS] [--refresh-ttl SECS]',
  details: `For trying tokenwarden without a real issuer, and for benchmarks. Supports discovery, dynamic
registration, device flow, authorization code + PKCE, refresh with rotation and reuse detection, client
credentials and token exchange; JWT access tokens with wlcg.ver, aud, scope and wlcg.groups. Its login
pages accept any user name. Everything is kept in memory. Prints the issuer URL, then serves until
SIGINT/SIGTERM.

--clients-file FILE pre-registers one client-credentials + refresh + device-flow client per line
ID:SECRET (keep the file mode 0600). Lines starting with # and blank lines are ignored; the secret is
everything after the first colon. Secrets are read from a file, never from the command line, where
every user of the machine could read them in ps.

--refresh-ttl SECS gives refresh tokens that lifetime (30 days without it) and makes every token
response that carries one say so in refresh_expires_in, as Keycloak's do: what the daemon's
refresh-token-expiring warning reads.`,
  options: {
    port: { type: 'string', valueName: 'N', description: 'port on 127.0.0.1 (default: a free one)' },
    'auto-approve': {
      type: 'string',
      valueName: 'USER',
      description: 'approve every device code at once as USER',
    },
    'clients-file': {
      type: 'string',
      valueName: 'FILE',
      description: 'pre-register the clients listed in FILE, one ID:SECRET a line',
    },
    'token-ttl': { type: 'string', valueName: 'SECS', description: 'access token lifetime (default 3600)' },
    'refresh-ttl': {
      type: 'string',
      valueName: 'SECS',
      description: 'refresh token lifetime, sent as refresh_expires_in (default: 30 days, not sent)',
    },
  },
  async run(args, io) {
    const port = countOpt(args, 'port', 0, 0, 65535);
    const ttl = secondsOpt(args, 'token-ttl', 3600, { max: 30 * 86400 });
    const refreshTtl =
      stringOpt(args, 'refresh-ttl') === undefined
        ? undefined
        : countOpt(args, 'refresh-ttl', 0, 1, 366 * 86400);
    const clientsFile = stringOpt(args, 'clients-file');
    const clients = clientsFile === undefined ? [] : await readClientsFile(clientsFile);
    const autoApprove = stringOpt(args, 'auto-approve');
    const issuer = await startTestIssuer({
      port,
      accessTokenTtl: ttl,
      clients: clients.map(({ clientId, clientSecret }) => ({
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
      })),
      ...(autoApprove ? { autoApproveDevice: autoApprove } : {}),
      ...(refreshTtl === undefined ? {} : { refreshTokenTtl: refreshTtl, refreshExpiresIn: true }),
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

export interface ClientEntry {
  clientId: string;
  clientSecret: string;
}

/** Reads `--clients-file`; readFileIfExists refuses a symlink or a non-regular file. */
async function readClientsFile(path: string): Promise<ClientEntry[]> {
  let text: string | undefined;
  try {
    text = await readFileIfExists(path);
  } catch (err) {
    // A link, a directory or an unreadable file: a wrong argument, named as such.
    if (!(err instanceof TokenwardenError)) throw err;
    throw new TokenwardenError('USAGE', `--clients-file: ${err.message}`, { cause: err });
  }
  if (text === undefined) throw new TokenwardenError('USAGE', `--clients-file ${path}: no such file`);
  return parseClientsFile(text, path);
}

/**
 * The clients of a `--clients-file`: one `ID:SECRET` a line, `#` comment lines and blank lines ignored.
 * A malformed line is refused naming the file and line number but never its text, which may be a secret.
 */
export function parseClientsFile(text: string, path: string): ClientEntry[] {
  const clients: ClientEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const number = index + 1;
    const fail = (reason: string) =>
      new TokenwardenError('USAGE', `--clients-file ${path} line ${number}: ${reason}`, {
        hint: 'each line is ID:SECRET; lines starting with # are comments',
      });
    const colon = line.indexOf(':');
    if (colon < 0) throw fail('expected ID:SECRET, found no colon');
    const clientId = line.slice(0, colon).trim();
    const clientSecret = line.slice(colon + 1).trim();
    if (clientId === '') throw fail('the client id before the colon is empty');
    // Neither message quotes the id: on a malformed line it may be a secret pasted in the wrong place.
    if (clientSecret === '') throw fail('the secret after the colon is empty');
    const first = seen.get(clientId);
    if (first !== undefined) throw fail(`this client id is listed already on line ${first}`);
    seen.set(clientId, number);
    clients.push({ clientId, clientSecret });
  }
  return clients;
}
