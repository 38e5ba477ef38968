import { secretForms } from '../oidc/sent-secrets.js';

/**
 * Redaction at the sinks, the last line of defence: secrets are kept out of messages by construction
 * (`Secret`, and `oidc/` cutting what a request sent out of an issuer's answer); this catches what a
 * third-party message might still carry. The CLI's stderr and every log sink use these.
 */
/** Replaces anything shaped like a JWT (a signed or unsigned token) with `[REDACTED-JWT]`. */
export { redact as redactJwt } from '../redact.js';

/**
 * The known secret values of one log, each in every form it takes on the wire (raw, percent-, form- and
 * JSON-encoded), replaced by `[REDACTED]`, longest first so a value inside another is not half cut.
 */
export class SecretValues {
  private forms: string[] = [];

  add(value: string): void {
    const forms = new Set([...this.forms, ...secretForms(value)]);
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const form of this.forms) if (out.includes(form)) out = out.split(form).join('[REDACTED]');
    return out;
  }
}
