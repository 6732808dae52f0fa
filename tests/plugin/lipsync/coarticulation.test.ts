import { describe, expect, it } from 'vitest';
import { VISEMES } from '../../../protocol/visemes.ts';
import { visemeWeightsAt } from '../../../plugin/lipsync/coarticulation.ts';

const V = (name: (typeof VISEMES)[number]) => VISEMES.indexOf(name);
const ms = (x: number) => Math.round(x * 24);

describe('coarticulation', () => {
  const keys = [
    { at: ms(100), v: V('PP') },
    { at: ms(180), v: V('aa') },
    { at: ms(330), v: V('DD') },
    { at: ms(400), v: V('O') },
    { at: ms(550), v: 0 },
  ];
  const w = new Float32Array(15);

  it('weights always sum to 1 (rest included) and never go negative', () => {
    for (let t = 0; t < 800; t += 3) {
      visemeWeightsAt(keys, ms(t), w);
      const sum = w.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      for (const x of w) expect(x).toBeGreaterThanOrEqual(0);
    }
  });

  it('a shape peaks just after its key and starts forming before it (anticipation)', () => {
    visemeWeightsAt(keys, ms(250), w);
    expect(w[V('aa')]).toBeCloseTo(1, 5);
    visemeWeightsAt(keys, ms(170), w); // 10 ms before "aa": lips already opening, still closing from PP
    expect(w[V('aa')]).toBeGreaterThan(0.1);
    expect(w[V('PP')]).toBeGreaterThan(0.1);
    visemeWeightsAt(keys, ms(30), w); // before the first key's anticipation (60 ms): rest
    expect(w[0]).toBe(1);
  });

  it('a tongue-only consonant keeps part of the nearest vowel’s shape', () => {
    visemeWeightsAt(keys, ms(365), w); // inside DD, between aa and O
    expect(w[V('DD')]).toBeGreaterThan(0.5);
    expect(w[V('O')] + w[V('aa')]).toBeGreaterThan(0.2);
  });

  it('rests after a last key that is not a rest, once its hold is over', () => {
    visemeWeightsAt([{ at: 0, v: V('aa') }], ms(500), w);
    expect(w[0]).toBe(1);
  });
});
