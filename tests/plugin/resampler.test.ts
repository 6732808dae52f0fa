import { describe, expect, it } from 'vitest';
import { Resampler } from '../../plugin/dsp/resampler.ts';

function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Push `x` through in uneven chunks, as an audio thread would (128-sample blocks, odd sizes). */
function runChunked(r: Resampler, x: Float32Array, sizes = [128, 37, 480, 1, 1024]): Float32Array {
  const parts: number[] = [];
  let i = 0;
  let k = 0;
  while (i < x.length) {
    const n = Math.min(sizes[k++ % sizes.length], x.length - i);
    parts.push(...r.process(x.subarray(i, i + n)));
    i += n;
  }
  return Float32Array.from(parts);
}

/** Least-squares fit of a sine at `freq` (any phase); returns the signal-to-residual ratio in dB. */
function snrDb(y: Float32Array, freq: number, rate: number): number {
  let ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
  for (let i = 0; i < y.length; i++) {
    const s = Math.sin((2 * Math.PI * freq * i) / rate);
    const c = Math.cos((2 * Math.PI * freq * i) / rate);
    ss += s * s; cc += c * c; sc += s * c; ys += y[i] * s; yc += y[i] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det;
  const b = (yc * ss - ys * sc) / det;
  let sig = 0, res = 0;
  for (let i = 0; i < y.length; i++) {
    const fit = a * Math.sin((2 * Math.PI * freq * i) / rate) + b * Math.cos((2 * Math.PI * freq * i) / rate);
    sig += fit * fit;
    res += (y[i] - fit) ** 2;
  }
  return 10 * Math.log10(sig / res);
}

const rmsOf = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
/** Skip the warm-up (filter delay plus margin) before measuring. */
const steady = (y: Float32Array, r: Resampler) => y.subarray(Math.ceil(r.delay) + 200, y.length - 200);

describe('Resampler', () => {
  for (const inRate of [48_000, 44_100]) {
    describe(`${inRate} Hz → 24 kHz`, () => {
      for (const freq of [440, 1000, 3000, 7000]) {
        it(`passes a ${freq} Hz sine with SNR above 70 dB and unity gain`, () => {
          const r = new Resampler(inRate, 24_000);
          const y = steady(runChunked(r, sine(freq, inRate, 1)), r);
          expect(snrDb(y, freq, 24_000)).toBeGreaterThan(70);
          expect(rmsOf(y) / (0.5 / Math.SQRT2)).toBeGreaterThan(0.99);
          expect(rmsOf(y) / (0.5 / Math.SQRT2)).toBeLessThan(1.01);
        });
      }

      for (const freq of [13_000, 15_000, 20_000]) {
        it(`rejects a ${freq} Hz tone (above the 12 kHz output Nyquist) by more than 70 dB instead of aliasing it`, () => {
          const r = new Resampler(inRate, 24_000);
          const y = steady(runChunked(r, sine(freq, inRate, 0.5)), r);
          const attenuationDb = 20 * Math.log10(rmsOf(y) / (0.5 / Math.SQRT2));
          expect(attenuationDb).toBeLessThan(-70);
        });
      }

      it('produces the same output whatever the chunking (state carries across calls)', () => {
        const x = sine(1234, inRate, 0.3);
        const whole = Float32Array.from(new Resampler(inRate, 24_000).process(x));
        const chunked = runChunked(new Resampler(inRate, 24_000), x);
        expect(chunked.length).toBe(whole.length);
        let maxDiff = 0;
        for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - chunked[i]));
        expect(maxDiff).toBeLessThan(1e-6);
      });

      it('keeps the long-run rate exact: output count tracks input × 24000 / inRate', () => {
        const r = new Resampler(inRate, 24_000);
        const y = runChunked(r, new Float32Array(inRate * 2));
        // Everything except the samples still inside the filter comes out.
        expect(Math.abs(y.length - 48_000 + r.delay)).toBeLessThan(3);
      });
    });
  }

  for (const outRate of [48_000, 44_100]) {
    it(`upsamples 24 kHz → ${outRate} Hz cleanly (playback path): SNR above 70 dB`, () => {
      const r = new Resampler(24_000, outRate);
      const y = steady(runChunked(r, sine(2500, 24_000, 1)), r);
      expect(snrDb(y, 2500, outRate)).toBeGreaterThan(70);
    });
  }

  it('refuses nonsense rates with a clear error', () => {
    expect(() => new Resampler(0, 24_000)).toThrow(/positive and finite/);
    expect(() => new Resampler(48_000, Number.NaN)).toThrow(/positive and finite/);
  });
});
