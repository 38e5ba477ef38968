import { TokenwardenError } from '../errors.js';

/**
 * WLCG Bearer Token Discovery (WLCG Common JWT Profiles, "Bearer Token Discovery"):
 * `$BEARER_TOKEN`, then `$BEARER_TOKEN_FILE`, then `$XDG_RUNTIME_DIR/bt_u<euid>`, then `/tmp/bt_u<euid>`.
 */
export type DiscoverySource = 'BEARER_TOKEN' | 'BEARER_TOKEN_FILE' | 'XDG_RUNTIME_DIR' | 'tmp';

export interface DiscoveryStep {
  source: DiscoverySource;
  /** The file to read; absent for BEARER_TOKEN, whose value is the token itself. */
  path?: string;
}

/** The default path where a tool should write a token for this user (`get`, `agent --bearer-file`). */
export function defaultBearerTokenPath(env: Record<string, string | undefined>, euid: number): string {
  if (env.BEARER_TOKEN_FILE) return env.BEARER_TOKEN_FILE;
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/bt_u${euid}`;
  return `/tmp/bt_u${euid}`;
}

/** The ordered places to look, given the environment (pure). */
export function discoverySteps(env: Record<string, string | undefined>, euid: number): DiscoveryStep[] {
  const steps: DiscoveryStep[] = [];
  if (env.BEARER_TOKEN !== undefined) steps.push({ source: 'BEARER_TOKEN' });
  if (env.BEARER_TOKEN_FILE !== undefined)
    steps.push({ source: 'BEARER_TOKEN_FILE', path: env.BEARER_TOKEN_FILE });
  if (env.XDG_RUNTIME_DIR)
    steps.push({ source: 'XDG_RUNTIME_DIR', path: `${env.XDG_RUNTIME_DIR}/bt_u${euid}` });
  else steps.push({ source: 'tmp', path: `/tmp/bt_u${euid}` });
  return steps;
}

/** C99 isspace(): space, \t, \n, \v, \f, \r. */
export function stripC99Whitespace(value: string): string {
  return value.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

/** A bearer token must be a non-empty run of RFC 6750 b64token characters. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface DiscoveredToken {
  source: DiscoverySource;
  path?: string;
  token: string;
}

/**
 * Runs discovery with an injected reader (undefined = file absent). An empty value moves on to the next
 * step; a non-empty value that is not a valid token is an error naming where it came from.
 */
export async function discoverBearerToken(
  env: Record<string, string | undefined>,
  euid: number,
  readFile: (path: string) => Promise<string | undefined>,
): Promise<DiscoveredToken | undefined> {
  for (const step of discoverySteps(env, euid)) {
    const raw = step.path === undefined ? env.BEARER_TOKEN : await readFile(step.path);
    if (raw === undefined) continue;
    const token = stripC99Whitespace(raw);
    if (token === '') continue;
    const where = step.path === undefined ? '$BEARER_TOKEN' : `${step.path} (from ${describe(step.source)})`;
    if (!B64TOKEN.test(token)) {
      throw new TokenwardenError('TOKEN_INVALID', `${where} does not hold a bearer token`, {
        hint: 'a token file holds one token (a JWT) and optional surrounding whitespace',
      });
    }
    return step.path === undefined
      ? { source: step.source, token }
      : { source: step.source, path: step.path, token };
  }
  return undefined;
}

function describe(source: DiscoverySource): string {
  switch (source) {
    case 'BEARER_TOKEN':
      return '$BEARER_TOKEN';
    case 'BEARER_TOKEN_FILE':
      return '$BEARER_TOKEN_FILE';
    case 'XDG_RUNTIME_DIR':
      return '$XDG_RUNTIME_DIR';
    case 'tmp':
      return 'the /tmp default';
  }
}
