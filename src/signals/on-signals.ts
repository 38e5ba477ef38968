import { onStopSignals, STOP_SIGNALS } from './stop.js';

/** The signal a service manager (`systemctl reload`) or an admin sends to have a service reread its config. */
export const RELOAD_SIGNAL: NodeJS.Signals = 'SIGHUP';

export interface SignalHandlers {
  /** Called once, at the first SIGTERM or SIGINT (to say what is being finished). */
  onStop?: (signal: NodeJS.Signals) => void;
  /** Called at every further stop signal while the work in flight is still finishing. */
  onRepeat?: (signal: NodeJS.Signals) => void;
  /** SIGHUP: reread the configuration. Never runs twice at once, and not after a stop signal. */
  onReload?: () => void | Promise<void>;
  /** What a reload threw or rejected with (the handler should report its own errors; this is the net). */
  onReloadError?: (err: unknown) => void;
  /** The process to listen on (tests pass an EventEmitter-like stand-in). */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export interface Signals {
  /** Aborts at the first stop signal: no new work may start after it. Its reason names the signal. */
  readonly stopping: AbortSignal;
  /** The first stop signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** The conventional exit status of a process stopped by `received` (128 + its number), else undefined. */
  exitStatus(): number | undefined;
  /** Resolves when no reload is running or queued (a stop waits for it before closing). */
  reloaded(): Promise<void>;
  /** Removes the handlers (the default actions apply again); idempotent. A reload in flight finishes. */
  dispose(): void;
}

/**
 * The signal handling of a long-running service: SIGTERM and SIGINT drain, exactly as `onStopSignals`
 * (renew and the agent use it), and SIGHUP reloads. Reloads are serialized: a SIGHUP that arrives while
 * a reload runs queues one more run after it (however many arrive meanwhile), so the configuration in
 * force is always the one on disk after the last signal, and two reloads never race.
 */
export function onSignals(handlers: SignalHandlers = {}): Signals {
  const target = handlers.target ?? process;
  const stop = onStopSignals({
    signals: STOP_SIGNALS,
    target,
    ...(handlers.onStop ? { onStop: handlers.onStop } : {}),
    ...(handlers.onRepeat ? { onRepeat: handlers.onRepeat } : {}),
  });
  let running: Promise<void> | undefined;
  let again = false;
  let disposed = false;

  const runReloads = async () => {
    do {
      again = false;
      try {
        await handlers.onReload?.();
      } catch (err) {
        handlers.onReloadError?.(err);
      }
    } while (again && !stop.signal.aborted);
    running = undefined;
  };

  const reload = () => {
    if (stop.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = runReloads();
  };
  target.on(RELOAD_SIGNAL, reload);

  return {
    stopping: stop.signal,
    get received() {
      return stop.received;
    },
    exitStatus: () => stop.exitStatus(),
    reloaded: async () => {
      while (running) await running;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      stop.dispose();
      target.off(RELOAD_SIGNAL, reload);
    },
  };
}
