import { constants } from 'node:os';

/** The signals a service manager or a terminal sends to ask a process to stop. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

export interface StopSignals {
  /** Aborts at the first stop signal: no new work may start after it. Its reason names the signal. */
  readonly signal: AbortSignal;
  /** The first stop signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** The conventional exit status of a process stopped by `received` (128 + its number), else undefined. */
  exitStatus(): number | undefined;
  /** Removes the handlers (the default action, dying at once, applies again); idempotent. */
  dispose(): void;
}

export interface StopSignalOptions {
  signals?: readonly NodeJS.Signals[];
  /** Called once, at the first signal (to say what is being finished). */
  onStop?: (signal: NodeJS.Signals) => void;
  /** Called at every further signal while the work in flight is still finishing. */
  onRepeat?: (signal: NodeJS.Signals) => void;
  /** The process to listen on (tests may pass an EventEmitter-like stand-in). */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * Turns SIGTERM and SIGINT (what systemd sends at stop and at TimeoutStartSec; Ctrl-C) into a graceful
 * stop: instead of dying at once, possibly between a refresh the issuer has answered (and so rotated the
 * refresh token) and the save of that answer, the process is told to start nothing new, finishes what is
 * in flight, and exits by itself. A repeated signal does not kill it either: the refresh in flight is
 * bounded by its own timeout, and SIGKILL remains for whoever cannot wait.
 */
export function onStopSignals(options: StopSignalOptions = {}): StopSignals {
  const signals = options.signals ?? STOP_SIGNALS;
  const target = options.target ?? process;
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let disposed = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received !== undefined) {
      options.onRepeat?.(signal);
      return;
    }
    received = signal;
    controller.abort(signal);
    options.onStop?.(signal);
  };
  for (const s of signals) target.on(s, handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    exitStatus() {
      if (received === undefined) return undefined;
      return 128 + (constants.signals[received] ?? 15);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const s of signals) target.off(s, handler);
    },
  };
}
