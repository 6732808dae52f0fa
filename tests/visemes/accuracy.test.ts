import { describe, expect, it } from 'vitest';
import { VISEMES, type VisemeKey } from '../../protocol/visemes.ts';
import { alignOnsets, frameAgreement, quantile, truthKeys } from './accuracy.ts';

const V = (n: (typeof VISEMES)[number]) => VISEMES.indexOf(n);
const ms = (x: number) => x * 24;
const keys = (...pairs: [number, (typeof VISEMES)[number]][]): VisemeKey[] => pairs.map(([t, v]) => ({ at: ms(t), v: V(v) }));

describe('lip-sync accuracy measure', () => {
  const truth = keys([100, 'PP'], [180, 'aa'], [300, 'DD'], [360, 'sil'], [500, 'SS'], [600, 'I'], [700, 'sil']);

  it('measures a uniform shift as that shift on every onset, and full agreement when identical', () => {
    const shifted = truth.map((k) => ({ at: k.at + ms(30), v: k.v }));
    const a = alignOnsets(truth, shifted);
    expect(a.errorsMs).toEqual([30, 30, 30, 30, 30]);
    expect(a.same).toBe(5);
    const f = frameAgreement(truth, truth);
    expect(f.agree).toBe(f.total);
    const g = frameAgreement(truth, shifted);
    expect(g.agree / g.total).toBeLessThan(0.9);
  });

  it('aligns a different shape for the same sound, skips extra and missing ones, never pairs far-apart onsets', () => {
    const predicted = keys([90, 'PP'], [170, 'E'], [250, 'kk'], [310, 'DD'], [1500, 'SS']);
    const a = alignOnsets(truth, predicted);
    // PP↔PP (−10), aa↔E (−10, substituted), DD↔DD (+10); kk is extra; SS at 1500 ms is too far from 500 ms
    expect(a.errorsMs).toEqual([-10, -10, 10]);
    expect(a.same).toBe(2);
    expect(a.truthCount).toBe(5);
  });

  it('turns per-frame phoneme events into keys: diphthongs split 60/40, pauses rest', () => {
    const frames = [{ phonemes: [{ ipa: 'm', offset: 0 }, { ipa: 'ˈaɪ', offset: 960 }] }, { phonemes: [{ ipa: '_', offset: 960 }] }];
    expect(truthKeys(frames)).toEqual([
      { at: 0, v: V('PP') },
      { at: 960, v: V('aa') },
      { at: 960 + Math.round(0.6 * 1920), v: V('I') },
      { at: 1920 + 960, v: 0 },
    ]);
  });

  it('quantiles interpolate', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.95)).toBe(5);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
