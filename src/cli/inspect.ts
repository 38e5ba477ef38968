import { readFile, stat } from 'node:fs/promises';

/** A JWT is a few kilobytes; WLCG tokens are kept well under 8 KB. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import {
  type DecodedToken,
  decodeToken,
  discoverBearerToken,
  formatDuration,
  nowSeconds,
  stripC99Whitespace,
} from '../tokens/index.js';
import type { CliIO, Command } from './command.js';
import { JSON_OPTION } from './shared.js';

export const command: Command = {
  name: 'inspect',
  summary: 'Decode a token and show its claims, issuer, audience, scopes and time left.',
  usage: 'inspect [TOKEN | FILE | -] [--json]',
  details: `With no argument, the token found by WLCG bearer-token discovery is shown ($BEARER_TOKEN,
$BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>, /tmp/bt_u<uid>). '-' reads standard input. The signature
is not verified. The token itself is never printed.`,
  options: { ...JSON_OPTION },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length > 1)
      throw new TokenwardenError('USAGE', 'inspect takes one token, file or -');
    const { token, source, from } = await obtain(args.positionals[0], io);
    const decoded = decodeFrom(token, from);
    const c = decoded.claims;
    const now = nowSeconds();
    const left = typeof c.exp === 'number' ? c.exp - now : undefined;
    const json = {
      source,
      header: decoded.header,
      claims: c,
      issuer: c.iss ?? null,
      subject: c.sub ?? null,
      audience: decoded.audience,
      scope: decoded.scope,
      expires_in: left ?? null,
      expired: left !== undefined && left <= 0,
    };
    const time = (v: unknown) => (typeof v === 'number' ? `${new Date(v * 1000).toISOString()}` : '-');
    const lines = [
      `source:    ${source}`,
      `issuer:    ${c.iss ?? '-'}`,
      `subject:   ${c.sub ?? '-'}`,
      `audience:  ${decoded.audience.join(' ') || '-'}`,
      `scope:     ${decoded.scope.join(' ') || '-'}`,
      `issued:    ${time(c.iat)}`,
      `expires:   ${time(c.exp)}${left === undefined ? '' : ` (${left > 0 ? `in ${formatDuration(left)}` : formatDuration(left)})`}`,
      `algorithm: ${String(decoded.header.alg ?? '-')}${decoded.header.kid ? ` (kid ${String(decoded.header.kid)})` : ''}`,
      'claims:',
      ...JSON.stringify(c, null, 2)
        .split('\n')
        .map((l) => `  ${l}`),
    ];
    return { exitCode: left !== undefined && left <= 0 ? 1 : 0, json, text: lines.join('\n') };
  },
};

/** A token to decode; `from` names where it came from in errors ("file /etc/passwd", "standard input"). */
interface Obtained {
  token: string;
  source: string;
  from: string;
}

const HINT = 'give a token, a file holding one, or - for standard input';
const EXPECTED = 'expected three base64url parts separated by dots: header, JSON claims, signature';

/** Decodes the token, saying where it came from when it is not one (never echoing what was read). */
function decodeFrom(token: string, from: string): DecodedToken {
  if (token.trim() === '') {
    throw new TokenwardenError('TOKEN_INVALID', `${from} is empty, not a JWT (${EXPECTED})`, { hint: HINT });
  }
  try {
    return decodeToken(token);
  } catch (err) {
    if (!(err instanceof TokenwardenError) || err.code !== 'TOKEN_INVALID') throw err;
    // A JWT whose claims are unusable: say which claim, not that it is no JWT.
    if (err.message.startsWith('not a usable JWT: ')) {
      throw new TokenwardenError('TOKEN_INVALID', `${from} is ${err.message}`);
    }
    throw new TokenwardenError('TOKEN_INVALID', `${from} is not a JWT (${EXPECTED})`, {
      cause: err,
      hint: HINT,
    });
  }
}

async function obtain(arg: string | undefined, io: CliIO): Promise<Obtained> {
  if (arg === undefined) {
    const found = await discoverBearerToken(io.env, io.uid, (p) => readFileIfExists(p));
    if (!found) {
      throw new TokenwardenError('TOKEN_NOT_FOUND', 'no bearer token found by WLCG discovery', {
        hint: 'give a token file, or set $BEARER_TOKEN_FILE',
      });
    }
    const from =
      found.path === undefined
        ? '$BEARER_TOKEN (found by WLCG discovery)'
        : `file ${found.path} (found by WLCG discovery)`;
    return { token: found.token, source: found.path ?? '$BEARER_TOKEN', from };
  }
  if (arg === '-') {
    return { token: stripC99Whitespace(await readAll(io.stdin)), source: 'stdin', from: 'standard input' };
  }
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(arg)) {
    return { token: arg, source: 'argument', from: 'the command-line argument' };
  }
  try {
    // Bounded: `inspect /dev/zero` or a huge log must not read forever. Symlinks are followed here
    // (inspect only reads, and /tmp/bt_u<uid> may well be a link).
    const st = await stat(arg);
    if (!st.isFile() || st.size > MAX_TOKEN_FILE_BYTES) {
      throw new TokenwardenError(
        'TOKEN_INVALID',
        `file ${arg} is not a token file (${st.isFile() ? `larger than ${MAX_TOKEN_FILE_BYTES} bytes` : 'not a regular file'})`,
        { hint: HINT },
      );
    }
    return { token: stripC99Whitespace(await readFile(arg, 'utf8')), source: arg, from: `file ${arg}` };
  } catch (cause) {
    if (cause instanceof TokenwardenError) throw cause;
    throw new TokenwardenError(
      'TOKEN_NOT_FOUND',
      `cannot read ${arg}: ${(cause as NodeJS.ErrnoException).code}`,
      {
        hint: HINT,
      },
    );
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
