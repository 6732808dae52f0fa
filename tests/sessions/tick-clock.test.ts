import { describe, expect, it } from 'vitest';
import { TickClock, type TickInfo } from '../../server/sessions/tick-clock.ts';

/** A clock on a hand-driven timer: `run()` fires the pending timer at its due time. */
function manual(onTick: (tick: TickInfo) => void) {
  const t = { now: 0, pending: null as { fn: () => void; at: number } | null };
  const clock = new TickClock(80, onTick, () => t.now, {
    set: (fn, ms) => (t.pending = { fn, at: t.now + ms }),
    clear: () => (t.pending = null),
  });
  const run = () => {
    const p = t.pending!;
    t.now = p.at;
    t.pending = null;
    p.fn();
  };
  return { t, clock, run };
}

describe('tick clock', () => {
  it('keeps absolute deadlines: a stall skips the missed ticks instead of drifting or bursting', () => {
    let now = 0;
    let pending: { fn: () => void; at: number } | null = null;
    const fired: { index: number; deadline: number; lateMs: number }[] = [];
    const clock = new TickClock(80, (tick) => fired.push(tick), () => now, {
      set: (fn, ms) => (pending = { fn, at: now + ms }),
      clear: () => (pending = null),
    });
    const run = (firesAt: number) => {
      now = firesAt;
      const p = pending!;
      pending = null;
      p.fn();
    };
    clock.start();
    run(0);
    run(83); // 3 ms late
    expect(pending!.at).toBe(160); // the next deadline is on the grid, not 83 + 80
    run(160);
    run(420); // a 180 ms stall: deadlines 240 and 320 were missed
    run(pending!.at);
    clock.stop();
    expect(fired.map((f) => f.index)).toEqual([0, 1, 2, 5, 6]);
    expect(fired.map((f) => f.deadline)).toEqual([0, 80, 160, 400, 480]);
    expect(fired.map((f) => f.lateMs)).toEqual([0, 3, 0, 20, 0]);
  });

  it('shift moves the whole grid from the next deadline on, earlier or later, and re-arms the timer', () => {
    const fired: number[] = [];
    const { t, clock, run } = manual((tick) => fired.push(tick.deadline));
    clock.start();
    run(); // 0
    run(); // 80
    clock.shift(30); // 30 ms earlier
    expect(t.pending!.at).toBe(130);
    run();
    run();
    clock.shift(-5); // 5 ms later
    run();
    clock.stop();
    expect(fired).toEqual([0, 80, 130, 210, 295]);
  });

  it('fireNow runs the next tick ahead of its deadline (lateMs negative) and keeps the grid for the ones after', () => {
    const fired: { deadline: number; lateMs: number }[] = [];
    const { t, clock, run } = manual((tick) => fired.push({ deadline: tick.deadline, lateMs: tick.lateMs }));
    clock.start();
    run(); // 0
    t.now = 68;
    expect(clock.msToNext()).toBe(12);
    clock.fireNow(); // 12 ms early
    expect(t.pending!.at).toBe(160); // the next deadline is on the grid
    run();
    clock.stop();
    expect(fired).toEqual([
      { deadline: 0, lateMs: 0 },
      { deadline: 80, lateMs: -12 },
      { deadline: 160, lateMs: 0 },
    ]);
    expect(clock.msToNext()).toBe(Infinity);
  });
});
