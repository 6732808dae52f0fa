/**
 * The voicing rule that tells the breathed /h/ of an "uh-huh" from a voiced consonant between the same vowels
 * (server/engines/rehearsal/voiceless-gap.ts), on signals made here: a vowel is a 120 Hz voice of a few harmonics, a
 * breath is seeded noise, a voiced consonant is the same voice quieter and duller.
 */
import { describe, expect, it } from 'vitest';
import { isVoicelessGap, periodicity, VOICELESS_MAX_PERIODICITY } from '../../server/engines/rehearsal/voiceless-gap.ts';
import { seededRandom } from '../../server/seeded-random.ts';

const RATE = 16000;
const ms = (v: number) => Math.round((v / 1000) * RATE);

function voice(n: number, level: number, harmonics = 6, f0 = 120, t0 = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) for (let h = 1; h <= harmonics; h++) x[i]! += (level / h) * Math.sin((2 * Math.PI * f0 * h * (t0 + i)) / RATE);
  return x;
}
function breath(n: number, level: number, seed = 7): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * level);
}
/** vowel (150 ms), middle (60 ms), vowel (150 ms); the middle's span in samples */
function vcv(middle: Float32Array) {
  const a = voice(ms(150), 0.3);
  const b = voice(ms(150), 0.3, 6, 120, a.length + middle.length);
  const x = new Float32Array(a.length + middle.length + b.length);
  x.set(a, 0);
  x.set(middle, a.length);
  x.set(b, a.length + middle.length);
  return { x, from: a.length, to: a.length + middle.length };
}

describe('voiceless gap', () => {
  it('measures a steady voice as periodic and noise as not', () => {
    expect(periodicity(voice(ms(100), 0.3), ms(50), RATE)).toBeGreaterThan(0.95);
    expect(periodicity(breath(ms(100), 0.1), ms(50), RATE)).toBeLessThan(VOICELESS_MAX_PERIODICITY);
  });

  it('calls a breathed /h/ between two vowels voiceless, and a voiced consonant there not', () => {
    const h = vcv(breath(ms(60), 0.05));
    expect(isVoicelessGap(h.x, h.from, h.to, RATE)).toBe(true);
    const l = vcv(voice(ms(60), 0.08, 2, 120, ms(150)));
    expect(isVoicelessGap(l.x, l.from, l.to, RATE)).toBe(false);
  });

  it('does not call a silence a breath, nor a span it was not given', () => {
    const pause = vcv(new Float32Array(ms(60)));
    expect(isVoicelessGap(pause.x, pause.from, pause.to, RATE)).toBe(false);
    const h = vcv(breath(ms(60), 0.05));
    expect(isVoicelessGap(h.x, h.to, h.from, RATE)).toBe(false);
    expect(isVoicelessGap(h.x, -10, h.to, RATE)).toBe(false);
    expect(isVoicelessGap(h.x, h.from, h.x.length + 1, RATE)).toBe(false);
    expect(isVoicelessGap(new Float32Array(ms(300)), ms(100), ms(160), RATE)).toBe(false);
  });
});
