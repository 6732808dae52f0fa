import { describe, expect, it } from 'vitest';
import { Framer, type CapturedFrame } from '../../../plugin/dsp/framer.ts';

describe('Framer', () => {
  it('cuts 1920-sample frames with consecutive sequence numbers whatever the block size', () => {
    const frames: CapturedFrame[] = [];
    const framer = new Framer((f) => frames.push(f));
    // 5 s of a ramp in 128-sample blocks and odd blocks, so frames straddle blocks.
    const total = 24_000 * 5;
    let written = 0;
    const sizes = [128, 64, 333, 1920, 7];
    let k = 0;
    while (written < total) {
      const n = Math.min(sizes[k++ % sizes.length], total - written);
      const block = new Float32Array(n);
      for (let i = 0; i < n; i++) block[i] = (written + i) / total;
      framer.push(block, (written / 24_000) * 1000);
      written += n;
    }
    expect(frames.length).toBe(Math.floor(total / 1920)); // 62 full frames
    expect(framer.pending).toBe(total - 62 * 1920);
    frames.forEach((f, n) => {
      expect(f.seq).toBe(n);
      expect(f.samples.length).toBe(1920);
      // samples land in order: the first sample of frame n is ramp value n*1920
      expect(f.samples[0]).toBeCloseTo((n * 1920) / total, 6);
      expect(f.samples[1919]).toBeCloseTo((n * 1920 + 1919) / total, 6);
    });
  });

  it('stamps each frame with the capture time of its first sample, even when it starts mid-block', () => {
    const frames: CapturedFrame[] = [];
    const framer = new Framer((f) => frames.push(f), 1920, 24_000, 100);
    const t0 = 5_000;
    // blocks of 1000 samples: frame 1 starts at sample 1920, inside the second block (offset 920)
    for (let b = 0; b < 10; b++) framer.push(new Float32Array(1000), t0 + (b * 1000 * 1000) / 24_000);
    expect(frames.map((f) => f.seq)).toEqual([100, 101, 102, 103, 104]);
    frames.forEach((f, n) => expect(f.t).toBeCloseTo(t0 + n * 80, 6));
  });

  it('hands out independent buffers (the receiver may transfer them)', () => {
    const frames: CapturedFrame[] = [];
    const framer = new Framer((f) => frames.push(f));
    framer.push(new Float32Array(1920).fill(0.25), 0);
    framer.push(new Float32Array(1920).fill(-0.5), 80);
    expect(frames[0].samples.buffer).not.toBe(frames[1].samples.buffer);
    expect(frames[0].samples[100]).toBe(0.25);
    expect(frames[1].samples[100]).toBe(-0.5);
  });

  it('discards a partial frame but keeps numbering', () => {
    const frames: CapturedFrame[] = [];
    const framer = new Framer((f) => frames.push(f));
    framer.push(new Float32Array(1000), 0);
    framer.discardPartial();
    framer.push(new Float32Array(1920), 500);
    expect(frames).toHaveLength(1);
    expect(frames[0].seq).toBe(0);
    expect(frames[0].t).toBe(500);
  });
});
