import { describe, expect, it } from 'vitest';
import { HearingMixer } from '../../server/voice/mixer.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';

const frame = (v: number) => new Float32Array(FRAME_SAMPLES).fill(v);

describe('mixer', () => {
  it('sums weighted inputs exactly when under full scale', () => {
    const m = new HearingMixer();
    const out = m.mix([frame(0.2), frame(-0.1)], [0.5, 1]);
    expect(out[10]).toBeCloseTo(0);
    const out2 = m.mix([frame(0.2), frame(0.1)], [0.5, 1]);
    expect(out2[10]).toBeCloseTo(0.2);
  });
  it('never clips, and recovers gain gradually afterwards', () => {
    const m = new HearingMixer();
    const loud = m.mix([frame(0.9), frame(0.9)], [1, 1]);
    expect(Math.max(...loud)).toBeLessThanOrEqual(0.98 + 1e-6);
    const after = m.mix([frame(0.3)], [1]);
    expect(Math.max(...after)).toBeLessThan(0.3); // still limited: no jump back to full gain
    for (let i = 0; i < 40; i++) m.mix([frame(0.3)], [1]);
    expect(m.mix([frame(0.3)], [1])[100]).toBeCloseTo(0.3);
  });
});
