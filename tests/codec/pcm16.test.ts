import { describe, expect, it } from 'vitest';
import { floatToPcm16, pcm16ToFloat } from '../../server/codec/pcm16.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';

describe('pcm16 codec', () => {
  it('PCM16 round-trips within one step and clamps', () => {
    const x = Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => Math.sin(i / 10) * 1.2);
    const back = pcm16ToFloat(floatToPcm16(x));
    for (let i = 0; i < FRAME_SAMPLES; i++) expect(Math.abs(back[i]! - Math.max(-1, Math.min(1, x[i]!)))).toBeLessThan(1 / 16000);
  });
});
