import { TokenwardenError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';
import { nowSeconds } from '../tokens/index.js';
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
}

/** Bounds of the wait between two checks: soon enough to notice a reload, never a busy loop. */
const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 60_000;
/** After a failure (or while the account is not loaded), try again this soon. */
const RETRY_MS = 5000;

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
  let busy: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, ms)));
    timer.unref();
  };
  const untilDue = () => (writtenExp - options.minValid - nowSeconds(options.clock)) * 1000;
  const tick = () => {
    if (busy || stopped) return busy ?? Promise.resolve();
    busy = check().finally(() => {
      busy = undefined;
    });
    return busy;
  };
  const check = async () => {
    let wait = RETRY_MS;
    try {
      if (written !== undefined && untilDue() > 0) {
        wait = untilDue();
        return;
      }
      const account = options.lookup(options.account);
      if (account === undefined) return;
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
      }
      wait = untilDue();
      if (wait <= 0) {
        // The issuer's tokens live less than minValid: refreshing at once would only loop. Say so, and
        // renew at half of what the new token has left.
        options.onError?.(
          new TokenwardenError('RENEW_FAILED', `the issuer's tokens live less than ${options.minValid}s`, {
            hint: 'give a smaller --bearer-min-valid',
          }),
        );
        wait = Math.max(RETRY_MS, ((token.expiresAt - nowSeconds(options.clock)) * 1000) / 2);
      }
    } catch (err) {
      options.onError?.(err);
    } finally {
      schedule(wait);
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
