import { TokenwardenError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';
import { nowSeconds } from '../tokens/index.js';
import { backoff, DEFAULT_RENEWAL_FRACTION, nextRenewalAt } from '../tokens/schedule.js';
import type { LoadedAccount } from './accounts.js';
import type { TokenService } from './token-service.js';

export interface BearerFileOptions {
  account: string;
  path: string;
  audience: string[];
  scope: string[];
  /** Rewrite when the file's token has fewer seconds left than this. */
  minValid: number;
  lookup: (account: string) => LoadedAccount | undefined;
  tokens: TokenService;
  clock: () => number;
  /** Reports a failed attempt (the previous file stays as it is). */
  onError?: (err: unknown) => void;
  /** Uniform in [0, 1): the jitter of retries (Math.random). */
  rand?: () => number;
}

/** Bounds of the wait between two checks: soon enough to notice a reload, never a busy loop. */
const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 60_000;
/** After a failure (or while the account is not loaded), retries back off from 5 s up to a minute. */
const RETRY_BASE_SECONDS = 5;
const RETRY_CAP_SECONDS = 60;

/**
 * Keeps a fresh token for one account at a WLCG discovery path (what oidc-agent's oidc-tokensh does, but
 * each rewrite atomic: a reader never sees an empty or partial file). The next check is scheduled from
 * the written token's own expiry (when fewer than minValid seconds will be left), not by a fixed sweep;
 * the agent also calls tick() when the account is (re)loaded.
 */
export function startBearerFileKeeper(options: BearerFileOptions): {
  /** Stops scheduling; resolves when a check in progress (and its file write) has finished. */
  stop(): Promise<void>;
  tick(): Promise<void>;
} {
  let written: string | undefined;
  let writtenExp = 0;
  /** When the file's token was written: its lifetime, for the schedule, is counted from then. */
  let writtenAt = 0;
  let failures = 0;
  let busy: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const rand = options.rand ?? Math.random;
  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, ms)));
    timer.unref();
  };
  // The one schedule every renewer here uses: minValid before expiry, but never before half the
  // lifetime has passed (an issuer whose tokens live less than minValid is not asked in a loop).
  const renewAt = () =>
    nextRenewalAt(
      { exp: writtenExp, iat: writtenAt },
      { minLifetime: options.minValid, fraction: DEFAULT_RENEWAL_FRACTION, jitter: 0 },
      rand,
    );
  const untilDue = () => (renewAt() - nowSeconds(options.clock)) * 1000;
  const tick = () => {
    if (busy || stopped) return busy ?? Promise.resolve();
    busy = check().finally(() => {
      busy = undefined;
    });
    return busy;
  };
  const retryIn = (err?: unknown) => {
    failures++;
    const retryAfterSeconds = err instanceof TokenwardenError ? err.retryAfterSeconds : undefined;
    return (
      backoff(
        failures,
        { baseSeconds: RETRY_BASE_SECONDS, capSeconds: RETRY_CAP_SECONDS, retryAfterSeconds },
        rand,
      ) * 1000
    );
  };
  const check = async () => {
    let wait: number | undefined;
    try {
      if (written !== undefined && untilDue() > 0) {
        wait = untilDue();
        return;
      }
      const account = options.lookup(options.account);
      if (account === undefined) {
        wait = retryIn();
        return;
      }
      const token = await options.tokens.get(account, {
        account: options.account,
        audience: options.audience,
        scope: options.scope,
        minValid: options.minValid,
        force: false,
      });
      const value = token.token.reveal();
      if (value !== written) {
        await writeFileAtomic(options.path, `${value}\n`, { mode: 0o600 });
        written = value;
        writtenExp = token.expiresAt;
        writtenAt = nowSeconds(options.clock);
      }
      failures = 0;
      if (writtenExp - writtenAt <= options.minValid) {
        // The issuer's tokens live less than minValid: say so; the schedule renews at half their life.
        options.onError?.(
          new TokenwardenError('RENEW_FAILED', `the issuer's tokens live less than ${options.minValid}s`, {
            hint: 'give a smaller --bearer-min-valid',
          }),
        );
      }
      wait = untilDue();
    } catch (err) {
      options.onError?.(err);
      wait = retryIn(err);
    } finally {
      schedule(wait ?? retryIn());
    }
  };
  void tick();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      return busy ?? Promise.resolve();
    },
    tick,
  };
}
