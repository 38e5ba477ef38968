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
import { type CliIO, type Command, secondsOpt, stringOpt } from './command.js';
import { JSON_OPTION } from './shared.js';

export const command: Command = {
  name: 'inspect',
  summary: 'Decode a token and show its claims, issuer, audience, scopes and time left.',
  usage: 'inspect [TOKEN | FILE | -] [--verify [--aud URL] [--timeout SECS]] [--json]',
  details: `With no argument, the token found by WLCG bearer-token discovery is shown ($BEARER_TOKEN,
$BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>, /tmp/bt_u<uid>). '-' reads standard input. The signature
is not verified unless --verify is given. The token itself is never printed.

--verify checks the signature against the issuer's published key: the issuer's discovery document
(<iss>/.well-known/openid-configuration, https only; plain http only on 127.0.0.1, ::1, localhost),
its jwks_uri, the key named by the header's kid (required). Then the rules of the token's profile:
WLCG 1.0 (wlcg.ver: sub, aud, jti, iat, exp, lifetime at most 6 h, storage.*:/PATH and compute.*
scopes) or SciTokens (ver scitoken:2.0: aud and sub required; read/write/create/modify/execute/queue
scopes with absolute paths), and exp, iat, nbf and iss, which scitokens-cpp demands of every token.
Each broken rule is named; the exit status is 1 when any is.`,
  options: {
    ...JSON_OPTION,
    verify: {
      type: 'boolean',
      description: "verify the signature (issuer's JWKS) and the profile's claim rules",
    },
    aud: { type: 'string', valueName: 'URL', description: 'with --verify: an audience the token must name' },
    timeout: {
      type: 'string',
      valueName: 'SECS',
      description: 'with --verify: deadline of each request to the issuer (default 10)',
    },
  },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length > 1)
      throw new TokenwardenError('USAGE', 'inspect takes one token, file or -');
    const verify = args.values.verify === true;
    if (!verify && (args.values.aud !== undefined || args.values.timeout !== undefined))
      throw new TokenwardenError('USAGE', 'inspect: --aud and --timeout go with --verify');
    const timeoutSeconds = secondsOpt(args, 'timeout', 10, { max: 300 });
    const { token, source, from } = await obtain(args.positionals[0], io);
    const decoded = decodeFrom(token, from);
    const verification = verify ? await verifyWith(token, stringOpt(args, 'aud'), timeoutSeconds) : undefined;
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
      ...(verification === undefined ? {} : { verification }),
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
    if (verification !== undefined) {
      lines.push(
        `verified:  ${verification.valid ? `yes, ${verification.profile} profile` : `NO (${verification.profile} profile)`}`,
        ...verification.failures.map((f) => `  ${f.rule}: ${f.message}`),
      );
    }
    const invalid = verification !== undefined && !verification.valid;
    return { exitCode: (left !== undefined && left <= 0) || invalid ? 1 : 0, json, text: lines.join('\n') };
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

/** verifyToken, loaded only for --verify (it brings jose's verification code). */
async function verifyWith(token: string, audience: string | undefined, timeoutSeconds: number) {
  const { verifyToken } = await import('../signing/index.js');
  return verifyToken(token, {
    timeoutMs: timeoutSeconds * 1000,
    ...(audience === undefined ? {} : { audience }),
  });
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
