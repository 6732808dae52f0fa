import { describe, expect, it } from 'vitest';
import { sanitise } from '../../server/voice/intake.ts';

describe('intake', () => {
  it('sanitises NaN, infinities and out-of-range samples', () => {
    const x = Float32Array.from([NaN, Infinity, -Infinity, 2, -3, 0.5]);
    expect([...sanitise(x)]).toEqual([0, 1, -1, 1, -1, 0.5]);
  });
});
