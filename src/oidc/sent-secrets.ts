import type * as oc from 'openid-client';

/**
 * The secrets a request carried, in every form an issuer might echo back in an error: Spring-based
 * issuers (INDIGO IAM among them) quote the request, its form body or its Authorization header in
 * `error_description`. Redaction is by value, so an opaque refresh token is caught as surely as a JWT.
 */
const REDACTED = '[REDACTED]';

/** Below this length a value is not a secret worth hunting for (and would garble ordinary words). */
const MIN_LENGTH = 6;

/** application/x-www-form-urlencoded as oauth4webapi writes it (RFC 6749 appendix B). */
function formUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[-_.!~*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The forms one secret takes on the wire: raw, percent-encoded, form-encoded, JSON-escaped. */
export function secretForms(value: string): string[] {
  if (value.length < MIN_LENGTH) return [];
  const forms = new Set([
    value,
    encodeURIComponent(value),
    formUrlEncode(value),
    JSON.stringify(value).slice(1, -1),
    new URLSearchParams({ v: value }).toString().slice(2),
  ]);
  return [...forms];
}

/** HTTP Basic credentials for a client (RFC 6749 section 2.3.1), as sent and as URL-encoded in an echo. */
export function basicCredentialForms(clientId: string, clientSecret: string): string[] {
  const forms = new Set<string>();
  for (const encode of [formUrlEncode, (s: string) => s]) {
    const b64 = Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
    forms.add(b64);
    forms.add(encodeURIComponent(b64));
    forms.add(b64.replace(/=+$/, ''));
  }
  return [...forms, ...secretForms(clientSecret)];
}

/** Replaces every occurrence of every form of `secrets` in `text`, longest first. */
export function redactSent(text: string, secrets: readonly string[]): string {
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

/** The client secret forms each client configuration sends, kept beside it (not in it) like openid-client does. */
const clientSecrets = new WeakMap<oc.Configuration, string[]>();

export function rememberClientSecrets(config: oc.Configuration, secrets: readonly string[]): void {
  clientSecrets.set(config, [...secrets]);
}

/** What every request of `config` carries: the client secret and its Basic credentials. */
export function clientSentSecrets(config: oc.Configuration): string[] {
  return clientSecrets.get(config) ?? [];
}
