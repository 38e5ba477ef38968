import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';
const values = new WeakMap<Secret, string>();

/**
 * A secret string (refresh token, client secret, password, access token) that cannot be printed by
 * accident: `toString`, `toJSON` and `util.inspect` all give `[REDACTED]`; `reveal()` is the one explicit
 * way to read it. The value lives in a WeakMap, so even enumerating the object shows nothing.
 */
export class Secret {
  constructor(value: string) {
    values.set(this, value);
  }

  reveal(): string {
    return values.get(this) as string;
  }

  get length(): number {
    return this.reveal().length;
  }

  /** Constant-time comparison (for passwords and session tokens). */
  equals(other: Secret | string): boolean {
    const a = Buffer.from(this.reveal());
    const b = Buffer.from(typeof other === 'string' ? other : other.reveal());
    return a.length === b.length && timingSafeEqual(a, b);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export function secret(value: string): Secret {
  return new Secret(value);
}

export function optionalSecret(value: string | undefined | null): Secret | undefined {
  return value === undefined || value === null || value === '' ? undefined : new Secret(value);
}
