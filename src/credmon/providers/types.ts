import type { Log } from '../../log/index.js';
import type { CredName } from '../names.js';

/**
 * The contract between the credmon's scan loop and the three kinds of provider (OAuth2 refresh, local
 * issuer, client credentials). The loop finds credentials (`<user>/<name>.top`), decides when each is
 * due from its own files, and calls `renew` with a deadline; a provider turns one credential into a new
 * `.use` (and, for OAuth2, a rotated `.top` written first). A provider never deletes a file and never
 * touches another user's directory.
 */

/** One credential of the credential directory: `<credDir>/<user>/<cred.name>.top`. */
export interface CredentialRef {
  user: string;
  cred: CredName;
}

/** What the loop gives a provider for one call. */
export interface ProviderContext {
  credDir: string;
  log: Log;
  /** Epoch milliseconds. */
  clock: () => number;
  fetch: typeof fetch;
  /** Aborted when the call's deadline passes or the credmon stops. */
  signal: AbortSignal;
}

/** The token just written to `.use`. */
export interface RenewOutcome {
  /** Epoch seconds. */
  expiresAt: number;
  issuedAt?: number | undefined;
}

export interface CredentialProvider {
  readonly kind: 'oauth2' | 'local' | 'client';
  readonly name: string;
  /**
   * Checks made once at start, before any credential is touched (keys readable or created, secret
   * files readable); throws a TokenwardenError CONFIG_INVALID naming the knob, which the credmon turns
   * into exit 99.
   */
  prepare?(ctx: Omit<ProviderContext, 'signal'>): Promise<void>;
  /**
   * Epoch milliseconds at which this credential is next due, when the provider decides differently from
   * the loop's rule (`.use` missing or older than `.top`: now; else `iat + fraction × lifetime`):
   * `Infinity` never (OAuth2 `.meta` with `use_refresh_token: false`), undefined to use the loop's rule.
   */
  dueAt?(ref: CredentialRef, ctx: ProviderContext): Promise<number | undefined>;
  /** Writes a fresh `.use` for the credential (OAuth2: the rotated `.top` first). */
  renew(ref: CredentialRef, ctx: ProviderContext): Promise<RenewOutcome>;
}
