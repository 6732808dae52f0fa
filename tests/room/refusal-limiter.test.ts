import { describe, expect, it } from 'vitest';
import { RefusalLimiter } from '../../server/room/refusal-limiter.ts';

describe('refusal limiter', () => {
  it('tells a burst per window, counts the rest, and reports them when the window rolls over', () => {
    const r = new RefusalLimiter(3, 1000);
    const told = Array.from({ length: 10 }, (_, i) => r.admit(100 + i).tell);
    expect(told).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(r.admit(900)).toEqual({ tell: false, untoldBefore: 0 });
    // a new window: the 8 untold refusals are reported once, and a new burst is allowed
    expect(r.admit(1100)).toEqual({ tell: true, untoldBefore: 8 });
    expect(r.admit(1101)).toEqual({ tell: true, untoldBefore: 0 });
  });
});
