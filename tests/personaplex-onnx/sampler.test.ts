import { describe, expect, it } from 'vitest';
import { Rng, sampleTopK, argmax } from '../../server/engines/personaplex-onnx/sampling.ts';
import { TopKSampler } from '../../server/engines/personaplex-onnx/top-k.ts';
import { halfTable, halfToFloat, halfToFloatInto } from '../../server/engines/personaplex-onnx/half.ts';
import { oldArgmax, oldHalfToFloat, oldSampleTopK, oldToFloat32 } from './old-host-path.ts';

/** Random logits with the features that break a careless top-k: ties, repeated maxima, ±Infinity, tiny rows. */
function randomCase(r: Rng) {
  const size = [1, 2, 7, 25, 100, 251, 2048, 32000][r.nextU32() % 8]!;
  const rows = 1 + (r.nextU32() % 3);
  const logits = new Float32Array(rows * size);
  const levels = 1 + (r.nextU32() % 40); // few levels → many ties
  const quantised = r.next() < 0.4;
  for (let i = 0; i < logits.length; i++) {
    const x = (r.next() * 2 - 1) * 8;
    logits[i] = quantised ? Math.round((x * levels) / 8) : x;
    if (r.next() < 0.001) logits[i] = -Infinity;
  }
  if (r.next() < 0.2) logits[r.nextU32() % logits.length] = Infinity;
  // k ≥ size (no cut) only on small rows: the old insertion sort is quadratic there.
  const topK = size <= 251 ? [0, 1, 5, 25, 250, size, size + 3][r.nextU32() % 7]! : [1, 5, 25, 250][r.nextU32() % 4]!;
  const temperature = [0, 0.3, 0.7, 0.8, 1, 2][r.nextU32() % 6]!;
  return { size, rows, logits, p: { topK, temperature } };
}

describe('top-k sampler (issue 17)', () => {
  it('draws the same tokens as the old sorted-insertion sampler for the same seed and logits (1,000 random cases)', () => {
    const r = new Rng(17);
    let draws = 0;
    for (let c = 0; c < 1000; c++) {
      const { size, rows, logits, p } = randomCase(r);
      const seed = r.nextU32();
      const a = new Rng(seed);
      const b = new Rng(seed);
      for (let row = 0; row < rows; row++) {
        for (let d = 0; d < 3; d++) {
          expect(sampleTopK(logits, row * size, size, p, a)).toBe(oldSampleTopK(logits, row * size, size, p, b));
          draws++;
        }
      }
      // Both consumed the generator identically.
      expect(a.nextU32()).toBe(b.nextU32());
    }
    expect(draws).toBeGreaterThan(3000);
  });

  it('samples fp16 logits directly with the same result as converting them first', () => {
    const r = new Rng(3);
    const sampler = new TopKSampler();
    for (let c = 0; c < 300; c++) {
      const size = c % 2 ? 2048 : 32000;
      const bits = new Uint16Array(size);
      // Finite halves of both signs, with ties (many equal bit patterns) and +0/−0.
      // Half the cases draw from a pool of a few logit values near 0 (many ties at the cut, ±0 among them).
      const pool = Array.from({ length: 2 + (r.nextU32() % 30) }, () => 0x3000 + (r.nextU32() % 0x1000) + (r.next() < 0.5 ? 0x8000 : 0));
      pool.push(0, 0x8000);
      for (let i = 0; i < size; i++) {
        bits[i] = c % 4 < 2 ? pool[r.nextU32() % pool.length]! : r.next() < 0.01 ? (r.next() < 0.5 ? 0x8000 : 0) : (r.nextU32() % 0x7bff) | (r.next() < 0.5 ? 0x8000 : 0);
      }
      const p = { temperature: c % 3 === 0 ? 0 : 0.8, topK: c % 2 ? 250 : 25 };
      if (c % 8 === 5) p.topK = 2000; // most of the row survives
      if (c % 8 === 3) for (let i = 0; i < size; i++) bits[i]! |= 0x8000; // all ≤ 0: the cut is negative or zero
      const seed = r.nextU32();
      expect(sampler.sample(bits, 0, size, p, new Rng(seed))).toBe(oldSampleTopK(oldToFloat32(bits), 0, size, p, new Rng(seed)));
    }
  });

  it('audio rows like the last one (the one-pass selection near the last cut) draw as the old sampler does', () => {
    // Rows of one distribution, then a shifted one (guess too high), a flat one (too many near the cut) and
    // one with a wide key range: the one-pass path and each of its fallbacks, all checked against the old path.
    const r = new Rng(11);
    const sampler = new TopKSampler() as unknown as { sample: TopKSampler['sample']; selectHalfNearCut: (...a: unknown[]) => Uint32Array | null };
    const near = sampler.selectHalfNearCut.bind(sampler);
    let used = 0;
    sampler.selectHalfNearCut = (...a: unknown[]) => {
      const out = near(...a);
      if (out) used++;
      return out;
    };
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const toHalf = (v: number) => {
      f[0] = v;
      const b = u[0]!;
      const e = ((b >>> 23) & 0xff) - 112;
      return e <= 0 ? (b >>> 16) & 0x8000 : ((b >>> 16) & 0x8000) | (e << 10) | ((b >>> 13) & 0x3ff);
    };
    for (let c = 0; c < 120; c++) {
      const shift = c % 30 === 29 ? 3 : 0;
      const spread = c % 30 === 28 ? 0.01 : c % 30 === 27 ? 200 : 6;
      const bits = Uint16Array.from({ length: 2048 }, () => toHalf((r.next() * 2 - 1) * spread + shift));
      if (c % 7 === 3) for (let i = 0; i < 2048; i += 5) bits[i] = bits[0]!; // ties
      const seed = r.nextU32();
      const p = { temperature: 0.8, topK: 250 };
      expect(sampler.sample(bits, 0, 2048, p, new Rng(seed))).toBe(oldSampleTopK(oldToFloat32(bits), 0, 2048, p, new Rng(seed)));
    }
    expect(used).toBeGreaterThan(60);
  });

  it('keeps the old argmax (first maximum wins)', () => {
    const x = Float32Array.of(1, 5, 3, 5, -Infinity);
    expect(argmax(x, 0, 5)).toBe(oldArgmax(x, 0, 5));
    expect(argmax(x, 2, 3)).toBe(1);
  });

  it('the half table equals the arithmetic conversion for all 65,536 bit patterns', () => {
    const t = halfTable();
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = oldHalfToFloat(h);
      const ok = Number.isNaN(want) ? Number.isNaN(t[h]!) && Number.isNaN(halfToFloat(h)) : t[h] === want && halfToFloat(h) === want;
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    const src = Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x0001);
    expect([...halfToFloatInto(src, new Float32Array(4))]).toEqual([1, -2, Infinity, 2 ** -24]);
  });
});
