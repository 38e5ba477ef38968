import type { JWK } from 'jose';
import { isLoopbackUrl } from '../oidc/loopback.js';

/** A discovery document or a JWKS is a few kilobytes; 256 KiB is far beyond any real one. */
export const MAX_DOCUMENT_BYTES = 256 * 1024;
/** At most this many keys are taken from one JWKS (real issuers publish one to four). */
export const MAX_KEYS = 32;

/** Why an issuer's keys could not be had, as verifyToken reports it (rule `discovery` or `jwks`). */
export class KeyFetchError extends Error {
  readonly rule: 'discovery' | 'jwks';
  constructor(rule: 'discovery' | 'jwks', message: string) {
    super(message);
    this.rule = rule;
  }

  override get name(): string {
    return 'KeyFetchError';
  }
}

export interface FetchKeysOptions {
  fetch: typeof fetch;
  /** Deadline of each request (discovery, then JWKS). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * The keys of an issuer, as a verifier finds them (OpenID Connect Discovery 1.0 section 4): GET
 * `<iss>/.well-known/openid-configuration`, whose `issuer` must be `iss` exactly (section 4.3), then GET
 * its `jwks_uri`. Both URLs must be https, except on a loopback host (127.0.0.0/8, ::1, localhost), which
 * never leaves the machine (tests, a local issuer behind a proxy). Each answer is bounded in size and
 * time; redirects are not followed (an issuer's keys are where its discovery says).
 */
export async function fetchIssuerKeys(issuer: string, opts: FetchKeysOptions): Promise<JWK[]> {
  const discoveryUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  checkUrl(discoveryUrl, 'discovery', 'the issuer');
  const discovery = await getJson(discoveryUrl, 'discovery', opts);
  if (discovery.issuer !== issuer)
    throw new KeyFetchError(
      'discovery',
      `the discovery document at ${discoveryUrl} names issuer ${JSON.stringify(String(discovery.issuer).slice(0, 200))}, not the token's ${JSON.stringify(issuer)}`,
    );
  if (typeof discovery.jwks_uri !== 'string')
    throw new KeyFetchError('discovery', `the discovery document at ${discoveryUrl} has no jwks_uri`);
  const jwksUri = discovery.jwks_uri;
  checkUrl(jwksUri, 'jwks', 'jwks_uri');
  const jwks = await getJson(jwksUri, 'jwks', opts);
  if (!Array.isArray(jwks.keys))
    throw new KeyFetchError('jwks', `${jwksUri} is not a JWK Set (no "keys" array)`);
  return (jwks.keys as unknown[])
    .filter((k): k is JWK => typeof k === 'object' && k !== null && !Array.isArray(k))
    .slice(0, MAX_KEYS);
}

function checkUrl(url: string, rule: 'discovery' | 'jwks', what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KeyFetchError(rule, `${what} ${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && isLoopbackUrl(parsed)) return;
  throw new KeyFetchError(
    rule,
    `${what} ${parsed.origin} is not https: keys are fetched over https only (plain http only on 127.0.0.1, ::1 or localhost)`,
  );
}

async function getJson(
  url: string,
  rule: 'discovery' | 'jwks',
  opts: FetchKeysOptions,
): Promise<Record<string, unknown>> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  let response: Response;
  try {
    response = await opts.fetch(url, { signal, redirect: 'manual', headers: { accept: 'application/json' } });
  } catch (err) {
    throw new KeyFetchError(
      rule,
      `GET ${url} failed: ${deadline.aborted ? `no answer within ${opts.timeoutMs} ms` : describe(err)}`,
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new KeyFetchError(rule, `GET ${url} answered HTTP ${response.status}`);
  }
  let text: string;
  try {
    text = await readBounded(response, MAX_DOCUMENT_BYTES);
  } catch (err) {
    if (err instanceof KeyFetchError) throw new KeyFetchError(rule, `GET ${url}: ${err.message}`);
    throw new KeyFetchError(
      rule,
      `GET ${url} failed while reading: ${deadline.aborted ? `no answer within ${opts.timeoutMs} ms` : describe(err)}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyFetchError(rule, `GET ${url} did not answer JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new KeyFetchError(rule, `GET ${url} did not answer a JSON object`);
  return value as Record<string, unknown>;
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const length = Number(response.headers.get('content-length'));
  if (Number.isFinite(length) && length > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new KeyFetchError('jwks', `the answer is larger than ${maxBytes} bytes`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new KeyFetchError('jwks', `the answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown }).code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return typeof code === 'string' ? `${message} (${code})` : message;
}
