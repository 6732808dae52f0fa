/**
 * The prosody tracker on synthetic voices: harmonic tones with a syllable rhythm whose pitch contour and level we
 * set, so each cue (final lowering, final rise, lengthening, fading level) has a known right answer.
 */
import { describe, expect, it } from 'vitest';
import { ProsodyTracker, turnEndProbability } from '../../server/engines/rehearsal/prosody.ts';

const SR = 24_000;

/**
 * A voice-like signal: `syllables` of `sylMs` each (the last one `lastMs`) separated by 40 ms dips, five
 * harmonics of an f0 that follows `contour(t)` (t from 0 to 1 over the utterance), then `quietMs` of silence.
 */
function voice(opts: { f0: number; contour: (t: number) => number; syllables?: number; sylMs?: number; lastMs?: number; fade?: boolean; quietMs?: number; lead?: number }) {
  const syl = opts.syllables ?? 10;
  const sylMs = opts.sylMs ?? 180;
  const lastMs = opts.lastMs ?? sylMs;
  const parts: number[] = [];
  for (let i = 0; i < syl; i++) parts.push(i === syl - 1 ? lastMs : sylMs, 40);
  const total = parts.reduce((a, b) => a + b, 0);
  const lead = Math.round(((opts.lead ?? 200) * SR) / 1000);
  const x = new Float32Array(lead + Math.round(((total + (opts.quietMs ?? 300)) * SR) / 1000));
  let phase = 0;
  let t = 0;
  let i = lead;
  parts.forEach((ms, k) => {
    const n = Math.round((ms * SR) / 1000);
    const voiced = k % 2 === 0;
    const last = k === parts.length - 2;
    for (let j = 0; j < n; j++, i++, t++) {
      const f = opts.f0 * opts.contour(t / ((total * SR) / 1000));
      phase += (2 * Math.PI * f) / SR;
      if (!voiced) continue;
      const env = Math.sin((Math.PI * j) / n) ** 0.5 * (last && opts.fade ? 1 - (0.9 * j) / n : 1);
      let s = 0;
      for (let h = 1; h <= 5; h++) s += Math.sin(h * phase) / h;
      x[i] = 0.3 * env * s;
    }
  });
  return x;
}

function cuesOf(...xs: Float32Array[]) {
  const p = new ProsodyTracker();
  for (const x of xs) for (let i = 0; i < x.length; i += 1920) p.push(x.subarray(i, Math.min(x.length, i + 1920)));
  return p.cues();
}

const level = () => 1;
const falling = (t: number) => (t < 0.75 ? 1 : 1 - 0.6 * (t - 0.75)); // the last quarter falls about 2.7 semitones
const rising = (t: number) => (t < 0.75 ? 1 : 1 + 1.6 * (t - 0.75)); // a question's rise, about 6 semitones

describe('prosody tracker', () => {
  it('measures final lowering against the speaker: a falling end is below the median, a level one is not', () => {
    const fall = cuesOf(voice({ f0: 140, contour: falling }));
    const flat = cuesOf(voice({ f0: 140, contour: level }));
    expect(fall.finalPitch).toBeLessThan(-1.5);
    expect(Math.abs(flat.finalPitch)).toBeLessThan(0.5);
    expect(fall.pitchSlope).toBeLessThan(-2);
  });

  it('gives the same contour figures for a deep and a high voice', () => {
    const deep = cuesOf(voice({ f0: 100, contour: falling }));
    const high = cuesOf(voice({ f0: 240, contour: falling }));
    expect(Math.abs(deep.finalPitch - high.finalPitch)).toBeLessThan(0.7);
    expect(Math.abs(deep.finalPitchZ - high.finalPitchZ)).toBeLessThan(0.5);
  });

  it('sees final lengthening and a fading level', () => {
    const long = cuesOf(voice({ f0: 150, contour: level, lastMs: 450, fade: true }));
    const plain = cuesOf(voice({ f0: 150, contour: level }));
    expect(long.lengthening).toBeGreaterThan(1.8);
    expect(plain.lengthening).toBeLessThan(1.3);
    expect(long.energyDrop).toBeLessThan(plain.energyDrop - 2);
  });

  it('says a falling, lengthened, fading end is more likely the end of a turn than a level cut-off', () => {
    const end = turnEndProbability(cuesOf(voice({ f0: 130, contour: falling, lastMs: 400, fade: true })));
    const cut = turnEndProbability(cuesOf(voice({ f0: 130, contour: level })));
    const question = turnEndProbability(cuesOf(voice({ f0: 130, contour: rising })));
    expect(end).toBeGreaterThan(0.55);
    expect(cut).toBeLessThan(0.55);
    expect(question).toBeGreaterThan(cut);
  });

  it('has no opinion on silence or a click, and ignores what came long before', () => {
    expect(cuesOf(new Float32Array(SR)).speechMs).toBe(0);
    expect(turnEndProbability(cuesOf(new Float32Array(SR)))).toBe(0.5);
    const click = new Float32Array(SR);
    click[1000] = 1;
    expect(turnEndProbability(cuesOf(click))).toBe(0.5);
  });

  it('survives NaN-free extremes: full-scale square waves and DC do not throw or give NaN probabilities', () => {
    const sq = new Float32Array(SR).map((_, i) => (Math.floor(i / 60) % 2 ? 1 : -1));
    const dc = new Float32Array(SR).fill(0.9);
    for (const x of [sq, dc]) {
      const p = turnEndProbability(cuesOf(x));
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });
});

describe('how long the voice has been quiet, by its own level', () => {
  const tracked = (...xs: Float32Array[]) => {
    const p = new ProsodyTracker();
    for (const x of xs) for (let i = 0; i < x.length; i += 1920) p.push(x.subarray(i, Math.min(x.length, i + 1920)));
    return p;
  };

  it('counts from the end of the voice: a soft tail is still voice, a murmur 35 dB under it is quiet', () => {
    const speech = voice({ f0: 150, contour: level, quietMs: 0 });
    // a word's soft tail: 150 ms about 15 dB under the voice (10 dB over its floor), then 400 ms of digital silence
    const tail = new Float32Array(Math.round(0.15 * SR)).map((_, i) => 0.05 * Math.sin((2 * Math.PI * 300 * i) / SR));
    const q = tracked(speech, tail, new Float32Array(Math.round(0.4 * SR))).quietMs();
    expect(q).toBeGreaterThanOrEqual(380);
    expect(q).toBeLessThanOrEqual(420);
    // the same silence without the tail: 150 ms longer quiet
    expect(tracked(speech, new Float32Array(Math.round(0.55 * SR))).quietMs()).toBeGreaterThanOrEqual(q + 120);
    // a murmur under the voice's floor (25 dB under its median) counts as quiet
    const murmur = tail.map((v) => v / 20);
    expect(tracked(speech, murmur, new Float32Array(Math.round(0.4 * SR))).quietMs()).toBeGreaterThanOrEqual(q + 120);
  });

  it('ends the voice over a room as loud as its soft tail: steady noise is not voice', () => {
    const noise = (seconds: number) => {
      let seed = 7;
      // about −40 dBFS of white noise: over the floor 25 dB under this voice, which would never let it end
      return new Float32Array(Math.round(seconds * SR)).map(() => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.035);
    };
    const speech = voice({ f0: 150, contour: level, quietMs: 0 });
    const hiss = noise(speech.length / SR);
    const noisy = speech.map((v, i) => v + hiss[i]!);
    const q = tracked(noise(1), noisy, noise(0.6)).quietMs();
    expect(q).toBeGreaterThanOrEqual(520);
    expect(q).toBeLessThanOrEqual(640);
  });

  it('has no measure without speech: silence or a click is quiet for ever', () => {
    expect(tracked(new Float32Array(SR)).quietMs()).toBe(Infinity);
    const click = new Float32Array(SR);
    click[1000] = 1;
    expect(tracked(click).quietMs()).toBe(Infinity);
  });
});
