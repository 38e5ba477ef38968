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
 * Each form is counted by the registrations that hold it: `add` returns a disposer, and a form goes when
 * its last holder lets it go, so a token registered for one renewal or one login does not stay for the
 * life of the process. The longest-first order is rebuilt on the next `redact` after a change, not on
 * every `add`.
 */
export class SecretValues {
  private readonly counts = new Map<string, number>();
  private sorted: string[] = [];
  private dirty = false;

  /** Registers `value`; the returned function (idempotent) removes this registration. */
  add(value: string): () => void {
    const forms = [...new Set(secretForms(value))];
    for (const form of forms) {
      const n = this.counts.get(form) ?? 0;
      if (n === 0) this.dirty = true;
      this.counts.set(form, n + 1);
    }
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      for (const form of forms) {
        const n = this.counts.get(form) ?? 0;
        if (n <= 1) {
          this.counts.delete(form);
          this.dirty = true;
        } else this.counts.set(form, n - 1);
      }
    };
  }

  /** How many distinct forms are held (tests: registrations that end leave nothing behind). */
  get size(): number {
    return this.counts.size;
  }

  redact(text: string): string {
    if (this.dirty) {
      this.sorted = [...this.counts.keys()].sort((a, b) => b.length - a.length);
      this.dirty = false;
    }
    let out = text;
    for (const form of this.sorted) if (out.includes(form)) out = out.split(form).join('[REDACTED]');
    return out;
  }
}
