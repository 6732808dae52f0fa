/**
 * The fixed 80 ms grid. Deadlines are absolute (start + n × period), so a slow tick never drifts the clock:
 * the next tick fires on its own deadline, and a tick that fires late reports by how much.
 */
export interface TickInfo {
  index: number;
  /** ms past the deadline when the tick fired */
  lateMs: number;
  deadline: number;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class TickClock {
  private timer: unknown = null;
  private startedAt = 0;
  private index = 0;

  constructor(
    private readonly periodMs: number,
    private readonly onTick: (tick: TickInfo) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly timers: Timers = realTimers,
  ) {}

  start() {
    if (this.timer) return;
    this.startedAt = this.now();
    this.index = 0;
    this.schedule();
  }

  private schedule() {
    const deadline = this.startedAt + this.index * this.periodMs;
    this.timer = this.timers.set(() => {
      const now = this.now();
      // A stall longer than a period (debugger, GC storm) skips the missed deadlines instead of bursting them.
      const behind = Math.floor((now - deadline) / this.periodMs);
      if (behind > 0) this.index += behind;
      const due = this.startedAt + this.index * this.periodMs;
      const tick = { index: this.index, lateMs: now - due, deadline: due };
      this.index++;
      this.schedule();
      this.onTick(tick);
    }, Math.max(0, deadline - this.now()));
  }

  /**
   * Move the whole grid `ms` earlier (negative: later), from the next deadline on: used to put the tick just
   * after the players' frames arrive, so no frame waits most of a period for it. The next deadline is re-armed.
   */
  shift(ms: number) {
    if (!Number.isFinite(ms) || ms === 0) return;
    this.startedAt -= ms;
    if (this.timer === null) return;
    this.timers.clear(this.timer);
    this.schedule();
  }

  /** ms until the next deadline (negative when it is overdue); Infinity when stopped. */
  msToNext(): number {
    if (this.timer === null) return Infinity;
    return this.startedAt + this.index * this.periodMs - this.now();
  }

  /**
   * Run the next tick now, ahead of its deadline (its `lateMs` is then negative), and keep the grid: the tick after
   * it is due on its own deadline. Used when everything the tick waits for is already in.
   */
  fireNow() {
    if (this.timer === null) return;
    this.timers.clear(this.timer);
    const due = this.startedAt + this.index * this.periodMs;
    const now = this.now();
    if (now >= due) {
      // overdue anyway: the timer's own path (it also skips missed deadlines)
      this.schedule();
      return;
    }
    const tick = { index: this.index, lateMs: now - due, deadline: due };
    this.index++;
    this.schedule();
    this.onTick(tick);
  }

  stop() {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  get running() {
    return this.timer !== null;
  }
}
