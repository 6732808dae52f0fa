/**
 * A voice-like test signal for codec figures: a glottal-ish harmonic series whose pitch glides, shaped by a
 * syllable-rate envelope with pauses, plus a little breath noise. Deterministic (seeded), no files needed.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';

export function speechLike(seed = 1) {
  let phase = 0;
  let n = 0;
  let rnd = seed >>> 0 || 1;
  const noise = () => {
    rnd ^= rnd << 13;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    return ((rnd >>> 0) / 4294967296) * 2 - 1;
  };
  return (): Float32Array => {
    const out = new Float32Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++, n++) {
      const t = n / SAMPLE_RATE;
      const f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.7 * t) + 15 * Math.sin(2 * Math.PI * 3.1 * t);
      phase += (2 * Math.PI * f0) / SAMPLE_RATE;
      let v = 0;
      for (let h = 1; h <= 12; h++) v += Math.sin(h * phase) / h ** 1.2;
      const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)); // ~4 syllables a second
      const phrase = (t % 3) < 2.2 ? 1 : 0; // pauses between phrases
      out[i] = phrase * (0.12 * syllable * v + 0.01 * noise());
    }
    return out;
  };
}
