import { describe, expect, it } from 'vitest';
import { Resampler, resampleAligned } from '../../protocol/dsp/resampler.ts';
import { rms } from '../support/audio.ts';

/** `n` samples of a sine at `rate`. */
function sine(freq: number, rate: number, n: number, amp = 0.5, phase = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

const sineSeconds = (freq: number, rate: number, seconds: number, amp = 0.5) => sine(freq, rate, Math.round(rate * seconds), amp);

/** SNR in dB of `y` against the best-fitting sine of frequency `freq` (least squares on sin/cos, any phase). */
function sineSnr(y: Float32Array, freq: number, rate: number): number {
  let ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
  for (let i = 0; i < y.length; i++) {
    const s = Math.sin((2 * Math.PI * freq * i) / rate);
    const c = Math.cos((2 * Math.PI * freq * i) / rate);
    ss += s * s; sc += s * c; cc += c * c; ys += y[i]! * s; yc += y[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det;
  const b = (yc * ss - ys * sc) / det;
  let sig = 0, err = 0;
  for (let i = 0; i < y.length; i++) {
    const fit = a * Math.sin((2 * Math.PI * freq * i) / rate) + b * Math.cos((2 * Math.PI * freq * i) / rate);
    sig += fit * fit;
    err += (y[i]! - fit) ** 2;
  }
  return 10 * Math.log10(sig / err);
}


/**
 * Stream `x` through a resampler in chunks of varying size, as a live stream or an audio thread (128-sample
 * blocks, odd sizes) would feed it. `process` returns a view of an internal buffer, so each part is copied.
 */
function streamed(r: Resampler, x: Float32Array, sizes = [128, 37, 480, 1, 1024]): Float32Array {
  const parts: Float32Array[] = [];
  let pos = 0;
  for (let k = 0; pos < x.length; k++) {
    const n = sizes[k % sizes.length]!;
    parts.push(r.process(x.subarray(pos, Math.min(x.length, pos + n))).slice());
    pos += n;
  }
  return concat(parts);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** Skip the warm-up (filter delay plus margin) before measuring. */
const steady = (y: Float32Array, r: Resampler) => y.subarray(Math.ceil(r.delay) + 200, y.length - 200);

describe('Resampler: server rates (hearing mix → VAD, TTS → voice)', () => {
  const cases: [number, number, number][] = [
    [24_000, 16_000, 1000],
    [24_000, 16_000, 3000],
    [22_050, 24_000, 440],
    [22_050, 24_000, 3000],
    [48_000, 24_000, 5000],
  ];
  for (const [from, to, f] of cases) {
    for (const causal of [true, false]) {
      it(`${from} → ${to} Hz keeps a ${f} Hz sine clean when streamed in odd chunks (SNR > 70 dB, ${causal ? 'causal' : 'centred, flushed'})`, () => {
        const x = sine(f, from, from); // one second
        const r = new Resampler(from, to, { causal });
        // One second in gives one second out: at once when causal, after draining the filter when centred.
        const y = concat([streamed(r, x, [1920, 7, 513, 1, 300]), ...(causal ? [] : [r.flush().slice()])]);
        expect(Math.abs(y.length - to)).toBeLessThanOrEqual(1);
        // Skip the filter's start-up, where the output ramps in from the silence before the signal.
        const steadyPart = y.subarray(200, y.length - 200);
        expect(sineSnr(steadyPart, f, to)).toBeGreaterThan(70);
        expect(rms(steadyPart)).toBeCloseTo(0.5 / Math.SQRT2, 2);
      });
    }
  }

  it('streamed output equals the output of one call on the whole signal', () => {
    const x = sine(1234, 24_000, 24_000);
    for (let i = 0; i < x.length; i += 97) x[i] = 0.9; // not just a sine
    const whole = new Resampler(24_000, 16_000, { causal: true }).process(x).slice();
    const parts = streamed(new Resampler(24_000, 16_000, { causal: true }), x, [1920, 31, 1, 4000]);
    expect(parts.length).toBe(whole.length);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - parts[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('removes what the lower rate cannot hold instead of aliasing it (10 kHz into 16 kHz: > 60 dB down)', () => {
    const x = sine(10_000, 24_000, 24_000);
    const y = new Resampler(24_000, 16_000).process(x).subarray(200);
    expect(20 * Math.log10(rms(y) / (0.5 / Math.SQRT2))).toBeLessThan(-60);
  });

  it('reports its delay; resampleAligned removes it so events keep their times', () => {
    const x = new Float32Array(22_050);
    x[11_025] = 1; // an impulse at 0.5 s
    const y = resampleAligned(x, 22_050, 24_000);
    expect(y.length).toBe(24_000);
    let peak = 0;
    for (let i = 1; i < y.length; i++) if (Math.abs(y[i]!) > Math.abs(y[peak]!)) peak = i;
    expect(Math.abs(peak - 12_000)).toBeLessThanOrEqual(1);
  });

  it('runs for a long stream without its counters growing (state stays bounded)', () => {
    const r = new Resampler(24_000, 16_000, { causal: true });
    const frame = sine(500, 24_000, 1920);
    let outs = 0;
    for (let i = 0; i < 5000; i++) outs += r.process(frame).length;
    expect(Math.abs(outs - (5000 * 1920 * 2) / 3)).toBeLessThanOrEqual(1);
  });

  it('causal mode turns every 1920-sample frame into exactly 1280 samples at 16 kHz, from the first frame', () => {
    const r = new Resampler(24_000, 16_000, { causal: true });
    const frame = sine(500, 24_000, 1920);
    for (let i = 0; i < 50; i++) expect(r.process(frame).length).toBe(1280);
  });

  it('causal mode reports its delay exactly: an impulse at input t peaks at output t / step + delay', () => {
    for (const [from, to] of [[24_000, 16_000], [48_000, 24_000], [22_050, 24_000]] as const) {
      const r = new Resampler(from, to, { causal: true });
      const x = new Float32Array(from);
      const t = from / 2;
      x[t] = 1;
      const y = r.process(x);
      let peak = 0;
      for (let i = 1; i < y.length; i++) if (Math.abs(y[i]!) > Math.abs(y[peak]!)) peak = i;
      expect(Math.abs(peak - (t / r.step + r.delay))).toBeLessThanOrEqual(1);
    }
  });

  it('centred mode drains with flush: a long stream gives its exact output count', () => {
    const r = new Resampler(24_000, 16_000);
    const frame = sine(500, 24_000, 1920);
    let outs = 0;
    for (let i = 0; i < 5000; i++) outs += r.process(frame).length;
    outs += r.flush().length;
    expect(Math.abs(outs - (5000 * 1920 * 2) / 3)).toBeLessThanOrEqual(1);
  });

  it('rejects rates that are not positive integers', () => {
    expect(() => new Resampler(0, 16_000)).toThrow(/positive integers/);
    expect(() => new Resampler(22_050.5, 16_000)).toThrow(/positive integers/);
  });
});

describe('Resampler: browser rates (mic → wire, wire → speakers)', () => {
  for (const inRate of [48_000, 44_100]) {
    describe(`${inRate} Hz → 24 kHz`, () => {
      for (const freq of [440, 1000, 3000, 7000]) {
        it(`passes a ${freq} Hz sine with SNR above 70 dB and unity gain`, () => {
          const r = new Resampler(inRate, 24_000);
          const y = steady(streamed(r, sineSeconds(freq, inRate, 1)), r);
          expect(sineSnr(y, freq, 24_000)).toBeGreaterThan(70);
          expect(rms(y) / (0.5 / Math.SQRT2)).toBeGreaterThan(0.99);
          expect(rms(y) / (0.5 / Math.SQRT2)).toBeLessThan(1.01);
        });
      }

      for (const freq of [13_000, 15_000, 20_000]) {
        it(`rejects a ${freq} Hz tone (above the 12 kHz output Nyquist) by more than 70 dB instead of aliasing it`, () => {
          const r = new Resampler(inRate, 24_000);
          const y = steady(streamed(r, sineSeconds(freq, inRate, 0.5)), r);
          const attenuationDb = 20 * Math.log10(rms(y) / (0.5 / Math.SQRT2));
          expect(attenuationDb).toBeLessThan(-70);
        });
      }

      it('produces the same output whatever the chunking (state carries across calls)', () => {
        const x = sineSeconds(1234, inRate, 0.3);
        const whole = Float32Array.from(new Resampler(inRate, 24_000).process(x));
        const chunked = streamed(new Resampler(inRate, 24_000), x);
        expect(chunked.length).toBe(whole.length);
        let maxDiff = 0;
        for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - chunked[i]!));
        expect(maxDiff).toBeLessThan(1e-6);
      });

      it('keeps the long-run rate exact: output count tracks input × 24000 / inRate', () => {
        const r = new Resampler(inRate, 24_000);
        const y = streamed(r, new Float32Array(inRate * 2));
        // Everything except the samples still inside the filter comes out.
        expect(Math.abs(y.length - 48_000 + r.delay)).toBeLessThan(3);
      });
    });
  }

  for (const outRate of [48_000, 44_100]) {
    it(`upsamples 24 kHz → ${outRate} Hz cleanly (playback path): SNR above 70 dB`, () => {
      const r = new Resampler(24_000, outRate);
      const y = steady(streamed(r, sineSeconds(2500, 24_000, 1)), r);
      expect(sineSnr(y, 2500, outRate)).toBeGreaterThan(70);
    });
  }

  it('refuses nonsense rates with a clear error', () => {
    expect(() => new Resampler(0, 24_000)).toThrow(/positive and finite/);
    expect(() => new Resampler(48_000, Number.NaN)).toThrow(/positive and finite/);
  });
});

describe('Resampler: one implementation for every ratio', () => {
  it('interpolates between table rows when a ratio needs more phases than the table holds (22.05 → 16 kHz)', () => {
    // 16000/22050 = 320/441: 320 phases, more than the default table's 256.
    const r = new Resampler(22_050, 16_000);
    const y = steady(streamed(r, sine(1000, 22_050, 22_050)), r);
    expect(sineSnr(y, 1000, 16_000)).toBeGreaterThan(70);
    expect(rms(y) / (0.5 / Math.SQRT2)).toBeGreaterThan(0.99);
    expect(rms(y) / (0.5 / Math.SQRT2)).toBeLessThan(1.01);
  });

  it('gives bit-identical output whatever the chunking, even at a fractional ratio (44.1 → 24 kHz)', () => {
    const x = sine(1234, 44_100, 44_100);
    for (let i = 0; i < x.length; i += 97) x[i] = 0.9;
    const whole = new Resampler(44_100, 24_000).process(x).slice();
    const chunked = streamed(new Resampler(44_100, 24_000), x, [128, 1, 3, 4410]);
    expect(chunked).toEqual(whole);
  });

  it('flush then reset starts a new signal exactly as a fresh resampler would', () => {
    const a = sine(700, 24_000, 5000);
    const b = sine(1900, 24_000, 3000);
    const r = new Resampler(24_000, 16_000);
    r.process(a);
    r.flush();
    r.reset();
    expect(r.process(b).slice()).toEqual(new Resampler(24_000, 16_000).process(b).slice());
  });
});
