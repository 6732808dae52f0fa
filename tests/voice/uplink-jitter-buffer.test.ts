import { describe, expect, it } from 'vitest';
import { UplinkJitterBuffer } from '../../server/voice/uplink-jitter-buffer.ts';

describe('uplink jitter buffer', () => {
  it('primes, plays in sequence order, and re-primes after an underrun', () => {
    const jb = new UplinkJitterBuffer<number>(2, 6);
    jb.push(1, 1);
    expect(jb.pop()).toBeNull(); // not primed yet
    jb.push(0, 0); // out of order
    expect([jb.pop(), jb.pop()]).toEqual([0, 1]);
    expect(jb.pop()).toBeNull(); // underrun
    expect(jb.stats.missing).toBe(1);
    jb.push(2, 2);
    expect(jb.pop()).toBeNull(); // re-priming
    jb.push(3, 3);
    expect(jb.pop()).toBe(2);
  });

  it('drops late and duplicate frames and bounds its depth', () => {
    const jb = new UplinkJitterBuffer<number>(1, 3);
    jb.push(5, 5);
    expect(jb.pop()).toBe(5);
    expect(jb.push(4, 4)).toBe('late');
    jb.push(6, 6);
    expect(jb.push(6, 6)).toBe('duplicate');
    for (let s = 7; s < 20; s++) jb.push(s, s);
    expect(jb.depth).toBe(3);
    expect(jb.stats.overflow).toBe(11);
    expect(jb.pop()).toBe(17); // the oldest were dropped, the delay stays bounded
  });
});
