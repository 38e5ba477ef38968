/**
 * The slots renewals run in: at most `total` at once, and at most `perProvider` for any one provider, so
 * a provider whose issuer hangs holds only its own share while the others keep renewing. Providers take
 * turns (round robin) for free slots; within a provider, first come first served.
 */
export class ProviderQueue {
  private readonly waiting = new Map<string, Array<() => Promise<void>>>();
  private readonly busy = new Map<string, number>();
  private inFlight = 0;
  private turn = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly total: number,
    private readonly perProvider: number,
  ) {}

  push(provider: string, task: () => Promise<void>): void {
    const list = this.waiting.get(provider);
    if (list === undefined) this.waiting.set(provider, [task]);
    else list.push(task);
    this.pump();
  }

  /** Renewals running now. */
  running(): number {
    return this.inFlight;
  }

  /** Renewals waiting for a slot. */
  queued(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  /** Drops every task not started (a stop). */
  clear(): void {
    this.waiting.clear();
  }

  /** Resolves when nothing runs. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.total) {
      const providers = [...this.waiting.keys()];
      if (providers.length === 0) return;
      let started = false;
      for (let i = 0; i < providers.length && this.inFlight < this.total; i++) {
        const name = providers[(this.turn + i) % providers.length] as string;
        const list = this.waiting.get(name);
        if (list === undefined || list.length === 0) {
          this.waiting.delete(name);
          continue;
        }
        if ((this.busy.get(name) ?? 0) >= this.perProvider) continue;
        const task = list.shift() as () => Promise<void>;
        if (list.length === 0) this.waiting.delete(name);
        this.start(name, task);
        started = true;
      }
      this.turn++;
      if (!started) return;
    }
  }

  private start(name: string, task: () => Promise<void>): void {
    this.inFlight++;
    this.busy.set(name, (this.busy.get(name) ?? 0) + 1);
    const done = () => {
      this.inFlight--;
      const left = (this.busy.get(name) ?? 1) - 1;
      if (left === 0) this.busy.delete(name);
      else this.busy.set(name, left);
      if (this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
      this.pump();
    };
    task().then(done, done);
  }
}
