import { constants } from 'node:os';

export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

/**
 * Turns the signals that ask a process to stop (SIGTERM from systemd at stop and at a start timeout,
 * SIGINT from Ctrl-C, SIGHUP when the terminal goes) into one call of `stop`, which should finish the
 * work in flight and return. A second such signal while stopping exits at once (128 + its number), as
 * a user pressing Ctrl-C twice expects. Returns the function that removes the handlers.
 *
 * Kept free of anything agent-specific so that other long-running commands can share it.
 */
export function onStopSignals(
  stop: (signal: StopSignal) => void,
  signals: readonly StopSignal[] = ['SIGTERM', 'SIGINT', 'SIGHUP'],
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  let stopping = false;
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (stopping) {
        exit(128 + (constants.signals[signal] ?? 15));
        return;
      }
      stopping = true;
      stop(signal);
    };
    process.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) process.off(signal, handler);
  };
}
