/**
 * setTimeout and clearTimeout as the daemon receives them: the real ones in production, a virtual
 * clock's in tests, so that a test drives hours of schedule without sleeping.
 */
export interface DaemonTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd: a pending renewal alone does not keep a stopped process alive. */
export const NODE_TIMERS: DaemonTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * The longest single timer: Node fires a delay above 2^31 − 1 ms (about 24.8 days) at once, with a
 * warning, so a longer wait is cut into pieces of at most this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Alarm {
  cancel(): void;
}

/**
 * Calls `fn` once when `clock()` reaches `atMs`, however far ahead that is: a wait longer than
 * MAX_TIMER_MS is chained, each piece re-measuring from the clock, so a clock that jumps (suspend,
 * NTP step) is caught up on at the next piece.
 */
export function setAlarm(timers: DaemonTimers, clock: () => number, atMs: number, fn: () => void): Alarm {
  let handle: unknown;
  let cancelled = false;
  const arm = () => {
    const delay = Math.max(0, atMs - clock());
    if (delay > MAX_TIMER_MS) {
      handle = timers.setTimeout(arm, MAX_TIMER_MS);
      return;
    }
    handle = timers.setTimeout(() => {
      if (!cancelled) fn();
    }, delay);
  };
  arm();
  return {
    cancel() {
      cancelled = true;
      timers.clearTimeout(handle);
    },
  };
}
