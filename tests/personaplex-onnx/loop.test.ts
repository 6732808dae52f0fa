/** The LMGen token ring and the sampler, without any model. */
import { describe, expect, it } from 'vitest';
import { LmRing } from '../../server/engines/personaplex-onnx/lm-ring.ts';
import { DELAYS, NUM_STREAMS, TEXT_START, AUDIO_START } from '../../server/engines/personaplex-onnx/constants.ts';
import { Rng, sampleTopK } from '../../server/engines/personaplex-onnx/sampling.ts';

const user = (t: number) => Array.from({ length: 8 }, (_, q) => 100 * t + q);

describe('LmRing (LMGen delays)', () => {
  it('has the reference delays and returns nothing on the first step', () => {
    expect(DELAYS).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]);
    const r = new LmRing();
    expect(r.prepare({ user: user(0) })).toBeNull();
    expect(r.offset).toBe(1);
  });

  it('feeds user codebooks to the transformer one frame later, acoustic ones two frames later', () => {
    const r = new LmRing();
    const inputs: Int32Array[] = [];
    for (let t = 0; t < 6; t++) {
      const p = r.prepare({ user: user(t) });
      if (!p) continue;
      inputs.push(p.input);
      r.commit(7, new Int32Array(16).fill(9));
    }
    // inputs[j] is read at offset j+1: slot j.
    // step 0 writes nothing it reads; at slot 0 every stream holds its initial token.
    expect(inputs[0]![0]).toBe(TEXT_START);
    for (let k = 1; k < NUM_STREAMS; k++) expect(inputs[0]![k]).toBe(AUDIO_START);
    for (let j = 1; j < inputs.length; j++) {
      // semantic user codebook (delay 0): the frame given at step j
      expect(inputs[j]![9]).toBe(user(j)[0]);
      // acoustic user codebooks (delay 1): the frame given one step earlier; the initial token at slot 1
      for (let q = 1; q < 8; q++) expect(inputs[j]![9 + q]).toBe(j === 1 ? AUDIO_START : user(j - 1)[q]);
      // generated streams hold what the model sampled (text 7, audio 9), initial where delayed at slot 1
      expect(inputs[j]![0]).toBe(7);
      expect(inputs[j]![1]).toBe(9);
      expect(inputs[j]![2]).toBe(j === 1 ? AUDIO_START : 9);
    }
  });

  it('keeps forced tokens over sampled ones and emits frames aligned across delays', () => {
    const r = new LmRing();
    const outs: Int32Array[] = [];
    for (let t = 0; t < 8; t++) {
      const agent = Array.from({ length: 8 }, (_, q) => 1000 + 10 * t + q);
      const p = r.prepare({ agent, text: 500 + t, user: user(t) });
      if (!p) continue;
      expect(p.provided.every(Boolean)).toBe(true);
      const o = r.commit(1, new Int32Array(16).fill(2)); // would-be samples, all overridden
      if (o) outs.push(o);
    }
    // Frame f comes out once its acoustic tokens (written one frame later) exist: text, agent and user
    // of the same frame line up again.
    expect(outs.length).toBeGreaterThan(3);
    for (const o of outs) {
      const f = o[0]! - 500;
      expect(o[1]).toBe(1000 + 10 * f);
      for (let q = 1; q < 8; q++) expect(o[1 + q]).toBe(1000 + 10 * f + q);
      for (let q = 0; q < 8; q++) expect(o[9 + q]).toBe(user(f)[q]);
    }
  });
});

describe('sampling', () => {
  const logits = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i * 1.7) * 3);

  it('is reproducible for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleTopK(logits, 0, 100, { temperature: 0.8, topK: 20 }, rng));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it('restores a generator from its state', () => {
    const a = new Rng(11);
    a.next();
    const b = new Rng(a.state);
    expect(Array.from({ length: 5 }, () => a.nextU32())).toEqual(Array.from({ length: 5 }, () => b.nextU32()));
  });

  it('never leaves the top k, and temperature 0 is argmax', () => {
    const order = [...logits.keys()].sort((x, y) => logits[y]! - logits[x]!);
    const top5 = new Set(order.slice(0, 5));
    const rng = new Rng(1);
    const counts = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const t = sampleTopK(logits, 0, 100, { temperature: 1, topK: 5 }, rng);
      expect(top5.has(t)).toBe(true);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    // Frequencies follow the softmax of the top 5 within a loose bound.
    const w = order.slice(0, 5).map((i) => Math.exp(logits[i]!));
    const z = w.reduce((a, b) => a + b, 0);
    order.slice(0, 5).forEach((id, j) => expect(Math.abs((counts.get(id) ?? 0) / 4000 - w[j]! / z)).toBeLessThan(0.03));
    expect(sampleTopK(logits, 0, 100, { temperature: 0, topK: 25 }, rng)).toBe(order[0]);
  });

  it('samples from an offset row of a batch', () => {
    const two = new Float32Array(200);
    two.set(logits, 100);
    expect(sampleTopK(two, 100, 100, { temperature: 0, topK: 1 }, new Rng(1))).toBe(sampleTopK(logits, 0, 100, { temperature: 0, topK: 1 }, new Rng(1)));
  });
});
