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

/**
 * Keeps a fresh token for one account at a WLCG discovery path (what oidc-agent's oidc-tokensh does, but
 * each rewrite atomic: a reader never sees an empty or partial file). Checks every few seconds, which is
 * cheap: the token comes from the agent's cache until it must be refreshed.
 */
export function startBearerFileKeeper(options: BearerFileOptions): { stop(): void; tick(): Promise<void> } {
  let written: string | undefined;
  let writtenExp = 0;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      if (written !== undefined && writtenExp - nowSeconds(options.clock) > options.minValid) return;
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
    } catch (err) {
      options.onError?.(err);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 5000);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer), tick };
}
