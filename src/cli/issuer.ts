import { TokenwardenError } from '../errors.js';
import type { SigningAlg, SigningKey } from '../signing/index.js';
import {
  type CliIO,
  type Command,
  type CommandResult,
  listOpt,
  type ParsedArgs,
  type SubcommandHelp,
  secondsOpt,
  stringOpt,
} from './command.js';
import { JSON_OPTION } from './shared.js';

const SUBCOMMANDS = ['keygen', 'serve', 'mint'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** HTCondor's local credmon default (`LOCAL_CREDMON_TOKEN_LIFETIME`): 20 minutes. */
const DEFAULT_LIFETIME = 1200;
/** A year: the longest token `mint` makes (MAX_LIFETIME_SECONDS of the signing core). */
const MAX_LIFETIME = 366 * 24 * 3600;
/** The profiles `--profile` takes, and the version each writes (see MintRequest.version). */
const PROFILES: Record<string, string> = { scitokens: 'scitoken:2.0', wlcg: 'wlcg:1.0' };
/** Subjects and scopes are one line of printable text; a JWT holding a newline is a mistake. */
const CONTROL = /\p{Cc}/u;
const MAX_CLAIM_TEXT = 4096;

/**
 * Each subcommand's help (`issuer mint --help`) and the options it takes: any other is a mistake, named
 * as such. A usage's continuation lines line up after `Usage: tokenwarden issuer NAME `.
 */
const SUBCOMMAND_HELP: Record<Subcommand, SubcommandHelp> = {
  keygen: {
    usage: 'issuer keygen --private-key FILE --public-key FILE [--alg ES256|RS256] [--kid ID] [--json]',
    summary: 'Writes a new signing key pair, never replacing a file.',
    options: ['private-key', 'public-key', 'alg', 'kid', 'json'],
    details: `The private key is PEM, "EC PRIVATE KEY" for ES256 or "RSA PRIVATE KEY" for RS256, mode 0600;
the public key is PEM "PUBLIC KEY", 0644: the forms HTCondor's LOCAL_CREDMON_PRIVATE_KEY and
LOCAL_CREDMON_PUBLIC_KEY take. It prints the key id and the public JWK.`,
  },
  serve: {
    usage: `issuer serve --private-key FILE [--private-key FILE]... [--kid ID]... [--issuer URL]
                                --listen HOST:PORT [--tls-cert FILE --tls-key FILE | --behind-proxy]`,
    summary: "Serves the issuer's discovery document and JWKS until SIGTERM or SIGINT.",
    options: ['private-key', 'alg', 'kid', 'issuer', 'listen', 'tls-cert', 'tls-key', 'behind-proxy'],
    details: `The discovery document is at <issuer>/.well-known/openid-configuration and the JWKS at
<issuer>/.well-known/jwks-uri, so that XRootD, scitokens-cpp and \`tokenwarden inspect --verify\` find
the keys. Give --private-key once per key to publish (key rotation: the new key and the old one, side
by side). Without --issuer, the issuer is the URL it listens on. Plain HTTP is served on loopback
only, unless --behind-proxy says a TLS-terminating proxy is in front; verifiers fetch keys over https.`,
  },
  mint: {
    usage: `issuer mint --private-key FILE --issuer URL --sub NAME --scope "SCOPES" --aud URL...
                               [--lifetime SECS] [--profile scitokens|wlcg] [--kid ID] [-o FILE] [--json]`,
    summary: 'Prints one signed token on stdout, or writes it to -o FILE (mode 0600, atomically).',
    options: [
      'private-key',
      'alg',
      'kid',
      'issuer',
      'sub',
      'scope',
      'aud',
      'lifetime',
      'profile',
      'output',
      'json',
    ],
    details: `Its claims: iss, sub, scope, aud (a list), ver "scitoken:2.0" (--profile scitokens, the default)
or wlcg.ver "1.0" (--profile wlcg), iat = nbf = now, exp = now + lifetime, jti. Both profiles need an
audience (--aud, repeatable; https://wlcg.cern.ch/jwt/v1/any means any WLCG service).
SciTokens scopes: read:/PATH write:/PATH ...; WLCG: storage.read:/PATH storage.create:/PATH
storage.modify:/PATH compute.read ... The private key is read from its file, never from the command
line.`,
  },
};

export const command: Command = {
  name: 'issuer',
  summary: 'A local token issuer: generate keys, serve discovery and JWKS, mint tokens for scripts.',
  usage: Object.values(SUBCOMMAND_HELP)
    .map((h) => h.usage)
    .join('\n       tokenwarden '),
  details: `Without --alg, the key's kind decides (EC P-256: ES256, RSA: RS256). Without --kid, the key id is the
key's JWK thumbprint (RFC 7638), the same for keygen, serve and mint; HTCondor's credmon uses
LOCAL_CREDMON_KEY_ID (default "local"): pass --kid local to mint for its key.`,
  subcommands: SUBCOMMAND_HELP,
  options: {
    'private-key': {
      type: 'string',
      multiple: true,
      valueName: 'FILE',
      description: 'PEM private key (keygen: to create; serve: repeatable, one per published key)',
    },
    'public-key': { type: 'string', valueName: 'FILE', description: 'keygen: PEM public key to create' },
    alg: { type: 'string', valueName: 'ALG', description: 'ES256 (default for keygen) or RS256' },
    kid: {
      type: 'string',
      multiple: true,
      valueName: 'ID',
      description: 'key id (default: the JWK thumbprint); serve: one per --private-key, in order',
    },
    issuer: { type: 'string', valueName: 'URL', description: 'the issuer URL (the iss claim)' },
    listen: { type: 'string', valueName: 'HOST:PORT', description: 'serve: address to listen on' },
    'tls-cert': {
      type: 'string',
      valueName: 'FILE',
      description: 'serve: PEM certificate (chain) for HTTPS',
    },
    'tls-key': {
      type: 'string',
      valueName: 'FILE',
      description: 'serve: PEM private key of the certificate',
    },
    'behind-proxy': {
      type: 'boolean',
      description: 'serve: plain HTTP on a non-loopback address, for a TLS-terminating proxy in front',
    },
    sub: { type: 'string', valueName: 'NAME', description: 'mint: the subject (sub claim)' },
    scope: { type: 'string', valueName: 'SCOPES', description: 'mint: space-separated scopes' },
    aud: {
      type: 'string',
      multiple: true,
      valueName: 'URL',
      description: 'mint: an audience (repeatable; blanks separate several)',
    },
    lifetime: {
      type: 'string',
      valueName: 'SECS',
      description: `mint: token lifetime in seconds (default ${DEFAULT_LIFETIME})`,
    },
    profile: { type: 'string', valueName: 'NAME', description: 'mint: scitokens (default) or wlcg' },
    output: {
      type: 'string',
      short: 'o',
      valueName: 'FILE',
      description: 'mint: write the token to FILE (0600, atomic) instead of stdout',
    },
    ...JSON_OPTION,
  },
  allowPositionals: true,
  async run(args, io) {
    const [sub, ...extra] = args.positionals;
    if (sub === undefined)
      throw new TokenwardenError('USAGE', 'issuer needs a subcommand: keygen, serve or mint', {
        hint: 'run `tokenwarden issuer --help`',
      });
    if (!(SUBCOMMANDS as readonly string[]).includes(sub))
      throw new TokenwardenError(
        'USAGE',
        `issuer: unknown subcommand ${JSON.stringify(sub)}: use keygen, serve or mint`,
        { hint: 'run `tokenwarden issuer --help`' },
      );
    if (extra.length > 0)
      throw new TokenwardenError(
        'USAGE',
        `issuer ${sub} takes options only (got ${JSON.stringify(extra[0])})`,
      );
    checkOptionsFor(sub as Subcommand, args);
    if (sub === 'keygen') return keygen(args);
    if (sub === 'mint') return mint(args, io);
    return serve(args, io);
  },
};

function checkOptionsFor(sub: Subcommand, args: ParsedArgs): void {
  for (const [name, value] of Object.entries(args.values)) {
    if (value === undefined || name === 'help') continue;
    if (!SUBCOMMAND_HELP[sub].options.includes(name))
      throw new TokenwardenError('USAGE', `issuer ${sub} does not take --${name}`, {
        hint: `run \`tokenwarden issuer ${sub} --help\``,
      });
  }
}

function required(args: ParsedArgs, name: string, sub: Subcommand): string {
  const value = stringOpt(args, name) ?? listOpt(args, name)[0];
  if (value === undefined || value === '')
    throw new TokenwardenError('USAGE', `issuer ${sub} needs --${name}`, {
      hint: `run \`tokenwarden issuer ${sub} --help\``,
    });
  return value;
}

function single(args: ParsedArgs, name: string, sub: Subcommand): string | undefined {
  const values = listOpt(args, name);
  if (values.length > 1) throw new TokenwardenError('USAGE', `issuer ${sub} takes one --${name}`);
  return values[0];
}

function algOpt(args: ParsedArgs): SigningAlg | undefined {
  const raw = stringOpt(args, 'alg');
  if (raw === undefined) return undefined;
  const alg = raw.toUpperCase();
  if (alg !== 'ES256' && alg !== 'RS256')
    throw new TokenwardenError('USAGE', `--alg ${JSON.stringify(raw)}: use ES256 or RS256`);
  return alg;
}

/**
 * An issuer URL as verifiers need it: https (plain http only on loopback, which never leaves the
 * machine), no query or fragment, no trailing slash (the `iss` claim is compared as a string).
 */
async function issuerOpt(raw: string): Promise<string> {
  const { isLoopbackUrl } = await import('../oidc/loopback.js');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TokenwardenError('USAGE', `--issuer ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url)))
    throw new TokenwardenError(
      'USAGE',
      `--issuer ${url.origin}: an issuer must be https (verifiers fetch its keys over https; plain http only on 127.0.0.1, ::1 or localhost)`,
    );
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw new TokenwardenError('USAGE', '--issuer: an issuer URL has no query, fragment or user');
  if (raw.endsWith('/'))
    throw new TokenwardenError('USAGE', `--issuer ${raw}: leave out the trailing slash`, {
      hint: `the iss claim is compared as text: use ${raw.replace(/\/+$/, '')}`,
    });
  return raw;
}

async function keygen(args: ParsedArgs): Promise<CommandResult> {
  const privateKeyPath = required(args, 'private-key', 'keygen');
  if (listOpt(args, 'private-key').length > 1)
    throw new TokenwardenError('USAGE', 'issuer keygen takes one --private-key');
  const publicKeyPath = required(args, 'public-key', 'keygen');
  const { generateKeyFiles } = await import('../issuer/index.js');
  const key = await generateKeyFiles({
    privateKeyPath,
    publicKeyPath,
    alg: algOpt(args) ?? 'ES256',
    kid: single(args, 'kid', 'keygen'),
  });
  return {
    json: {
      private_key: privateKeyPath,
      public_key: publicKeyPath,
      alg: key.alg,
      kid: key.kid,
      jwk: key.publicJwk,
    },
    text: [
      `private key: ${privateKeyPath} (mode 0600)`,
      `public key:  ${publicKeyPath} (mode 0644)`,
      `algorithm:   ${key.alg}`,
      `kid:         ${key.kid}`,
      `public JWK:  ${JSON.stringify(key.publicJwk)}`,
    ].join('\n'),
  };
}

async function mint(args: ParsedArgs, io: CliIO): Promise<CommandResult> {
  const privateKeyPath = required(args, 'private-key', 'mint');
  if (listOpt(args, 'private-key').length > 1)
    throw new TokenwardenError('USAGE', 'issuer mint signs with one key: give one --private-key');
  const issuer = await issuerOpt(required(args, 'issuer', 'mint'));
  const subject = required(args, 'sub', 'mint');
  const scope = stringOpt(args, 'scope');
  if (scope === undefined) throw new TokenwardenError('USAGE', 'issuer mint needs --scope (it may be "")');
  for (const [name, value] of [
    ['sub', subject],
    ['scope', scope],
  ] as const) {
    if (CONTROL.test(value) || value.length > MAX_CLAIM_TEXT)
      throw new TokenwardenError(
        'USAGE',
        `--${name}: give one line of at most ${MAX_CLAIM_TEXT} printable characters`,
      );
  }
  const profileName = stringOpt(args, 'profile') ?? 'scitokens';
  const version = PROFILES[profileName];
  if (version === undefined)
    throw new TokenwardenError('USAGE', `--profile ${JSON.stringify(profileName)}: use scitokens or wlcg`);
  const audience = listOpt(args, 'aud').flatMap((a) => a.split(/\s+/).filter((x) => x !== ''));
  if (audience.length === 0)
    throw new TokenwardenError(
      'USAGE',
      profileName === 'scitokens'
        ? 'aud missing: a scitoken:2.0 token must name its audience: give --aud'
        : 'aud missing: a WLCG token must name its audience: give --aud',
      {
        hint: 'e.g. --aud https://storage.example.org (or https://wlcg.cern.ch/jwt/v1/any for any WLCG service)',
      },
    );
  const lifetime = secondsOpt(args, 'lifetime', DEFAULT_LIFETIME, { max: MAX_LIFETIME });
  if (!Number.isInteger(lifetime))
    throw new TokenwardenError('USAGE', `--lifetime ${lifetime}: give a whole number of seconds`);
  const output = stringOpt(args, 'output');
  const [
    { checkTokenClaims, claimsOf, loadSigningKey, mintToken, WLCG_MAX_LIFETIME_SECONDS },
    { nowSeconds },
  ] = await Promise.all([import('../signing/index.js'), import('../tokens/index.js')]);
  const key: SigningKey = await loadSigningKey(privateKeyPath, {
    alg: algOpt(args),
    kid: single(args, 'kid', 'mint'),
  });
  const now = nowSeconds();
  const { randomUUID } = await import('node:crypto');
  const jti = randomUUID();
  const request = {
    issuer,
    subject,
    scope,
    audience,
    lifetimeSeconds: lifetime,
    version,
    nowSeconds: now,
    jti,
  };
  // The rules inspect --verify (and scitokens-cpp) apply, checked before signing: a scope XRootD would
  // not read is a mistake to say now. A WLCG lifetime beyond the profile's default maximum (6 hours,
  // a recommendation, not a rule verifiers apply) is the site's call: a warning.
  if (profileName === 'wlcg' && lifetime > WLCG_MAX_LIFETIME_SECONDS)
    io.err(
      `tokenwarden: warning: lifetime ${lifetime} s is longer than the ${WLCG_MAX_LIFETIME_SECONDS / 3600} hours the WLCG profile recommends at most for an access token; some sites may refuse this token\n`,
    );
  const { failures } = checkTokenClaims(claimsOf(request), { nowSeconds: now });
  const refused = failures[0];
  if (refused !== undefined)
    throw new TokenwardenError(
      'USAGE',
      `the token would break the ${profileName} profile: ${refused.message}`,
      {
        hint: 'see `tokenwarden issuer --help` for the scope words of each profile',
      },
    );
  const token = mintToken(key, request);
  const summary = { kid: key.kid, alg: key.alg, jti, expires_at: now + lifetime };
  if (output !== undefined) {
    const { writeFileAtomic } = await import('../files/index.js');
    await writeFileAtomic(output, `${token}\n`, { mode: 0o600 });
    io.err(`tokenwarden: wrote a token for ${subject} to ${output} (expires in ${lifetime} s, jti ${jti})\n`);
    return { json: { file: output, ...summary } };
  }
  // The token is the output (as `token` prints one): on stdout, and nothing else there.
  return { json: { access_token: token, expires_in: lifetime, ...summary }, text: token };
}

/** HOST:PORT, [IPv6]:PORT. */
function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new TokenwardenError(
      'USAGE',
      `--listen ${JSON.stringify(raw)}: give HOST:PORT, e.g. 127.0.0.1:8443`,
    );
  return { host: (m[1] ?? m[2]) as string, port };
}

async function serve(args: ParsedArgs, io: CliIO): Promise<CommandResult> {
  const paths = listOpt(args, 'private-key');
  if (paths.length === 0)
    throw new TokenwardenError('USAGE', 'issuer serve needs --private-key (once per key to publish)');
  const kids = listOpt(args, 'kid');
  if (kids.length > 0 && kids.length !== paths.length)
    throw new TokenwardenError(
      'USAGE',
      `issuer serve: ${kids.length} --kid for ${paths.length} --private-key: give one --kid per key, in the same order, or none`,
    );
  const rawIssuer = stringOpt(args, 'issuer');
  const issuer = rawIssuer === undefined ? undefined : await issuerOpt(rawIssuer);
  const { host, port } = parseListen(required(args, 'listen', 'serve'));
  const certFile = stringOpt(args, 'tls-cert');
  const keyFile = stringOpt(args, 'tls-key');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new TokenwardenError('USAGE', 'issuer serve: give both --tls-cert and --tls-key, or neither');
  const [{ loadSigningKey }, { createIssuerServer }, logs, { onStopSignals }] = await Promise.all([
    import('../signing/index.js'),
    import('../issuer/index.js'),
    import('../log/index.js'),
    import('../signals/index.js'),
  ]);
  const alg = algOpt(args);
  const keys: SigningKey[] = [];
  for (const [i, path] of paths.entries()) keys.push(await loadSigningKey(path, { alg, kid: kids[i] }));
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.kid))
      throw new TokenwardenError(
        'USAGE',
        `issuer serve: two keys have the kid ${key.kid}: each key needs its own`,
      );
    seen.add(key.kid);
  }
  const log = logs.createLog([logs.consoleSink(io.env, { write: io.err })]);
  const stop = onStopSignals();
  const server = createIssuerServer({
    issuer,
    keys,
    host,
    port,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    behindProxy: args.values['behind-proxy'] === true,
    log,
  });
  try {
    const url = await server.listen();
    // One line on stdout, for scripts (and tests) that listen on port 0: the URL it listens on.
    io.out(`${url.href}\n`);
    if (!stop.signal.aborted)
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    log.emit({ type: 'issuer.stopped', level: 'info', signal: stop.received ?? 'SIGTERM' });
  } finally {
    await server.close();
    stop.dispose();
    log.close();
  }
  return { exitCode: 0 };
}
