import { describe, expect, it } from 'vitest';
import { OpusFrameDecoder, OpusFrameEncoder } from '../../server/codec/opus.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { rms } from '../support/audio.ts';

describe('opus codec', () => {
  it('Opus carries an 80 ms frame at about 24 kbit/s', () => {
    const enc = new OpusFrameEncoder();
    const dec = new OpusFrameDecoder();
    let bytes = 0;
    let out: Float32Array = new Float32Array();
    for (let f = 0; f < 25; f++) {
      const x = Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * (f * FRAME_SAMPLES + i)) / 24000));
      const pkt = enc.encode(x);
      bytes += pkt.byteLength;
      out = dec.decode(pkt);
    }
    expect(out.length).toBe(FRAME_SAMPLES);
    const kbps = (bytes * 8) / 2 / 1000;
    expect(kbps).toBeLessThanOrEqual(32);
    expect(rms(out)).toBeGreaterThan(0.15); // a tone survives, not silence
  });
});
