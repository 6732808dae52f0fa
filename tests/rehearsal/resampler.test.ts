import { describe, expect, it } from 'vitest';
import { Resampler, resampleAligned } from '../../server/audio/resampler.ts';

function sine(freq: number, rate: number, n: number, amp = 0.5, phase = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

/** SNR in dB of `y` against the best-fitting sine of frequency `freq` (least squares on sin/cos/dc). */
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

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

/** Stream `x` through a resampler in chunks of varying size, as a live stream would arrive. */
function streamed(r: Resampler, x: Float32Array, sizes: number[]): Float32Array {
  const parts: Float32Array[] = [];
  let pos = 0;
  for (let k = 0; pos < x.length; k++) {
    const n = sizes[k % sizes.length]!;
    parts.push(r.process(x.subarray(pos, Math.min(x.length, pos + n))));
    pos += n;
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

describe('Resampler', () => {
  const cases: [number, number, number][] = [
    [24_000, 16_000, 1000],
    [24_000, 16_000, 3000],
    [22_050, 24_000, 440],
    [22_050, 24_000, 3000],
    [48_000, 24_000, 5000],
  ];
  for (const [from, to, f] of cases) {
    it(`${from} → ${to} Hz keeps a ${f} Hz sine clean when streamed in odd chunks (SNR > 70 dB)`, () => {
      const x = sine(f, from, from); // one second
      const y = streamed(new Resampler(from, to), x, [1920, 7, 513, 1, 300]);
      expect(Math.abs(y.length - to)).toBeLessThanOrEqual(1);
      // Skip the filter's start-up, where the output ramps in from the silence before the signal.
      const steady = y.subarray(200, y.length - 200);
      expect(sineSnr(steady, f, to)).toBeGreaterThan(70);
      expect(rms(steady)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    });
  }

  it('streamed output equals the output of one call on the whole signal', () => {
    const x = sine(1234, 24_000, 24_000);
    for (let i = 0; i < x.length; i += 97) x[i] = 0.9; // not just a sine
    const whole = new Resampler(24_000, 16_000).process(x);
    const parts = streamed(new Resampler(24_000, 16_000), x, [1920, 31, 1, 4000]);
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
    const r = new Resampler(24_000, 16_000);
    const frame = sine(500, 24_000, 1920);
    let outs = 0;
    for (let i = 0; i < 5000; i++) outs += r.process(frame).length;
    expect(Math.abs(outs - (5000 * 1920 * 2) / 3)).toBeLessThanOrEqual(1);
  });

  it('rejects rates that are not positive integers', () => {
    expect(() => new Resampler(0, 16_000)).toThrow(/positive integers/);
    expect(() => new Resampler(22_050.5, 16_000)).toThrow(/positive integers/);
  });
});
