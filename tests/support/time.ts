/** Time for tests: a real sleep for integration tests, and a fake clock with timers for unit tests. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

/**
 * A clock that moves only when told. `now()` is milliseconds; `setTimeout`/`setInterval`/`clear` mirror the
 * globals; `advance(ms)` runs every timer that falls due, in time order, with `now()` at each one's due time.
 */
export class FakeClock {
  private t: number;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start = 0) {
    this.t = start;
  }

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): number => this.add(fn, ms);

  setInterval = (fn: () => void, ms: number): number => this.add(fn, ms, Math.max(1, ms));

  clear = (id: number | undefined): void => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };

  /** timers still waiting */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.timers.shift();
      next.fn();
    }
    this.t = end;
  }

  private add(fn: () => void, ms: number, every?: number): number {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn, every });
    return id;
  }
}
