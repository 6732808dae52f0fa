/**
 * A simulated room between the player's speakers and microphone, standing in for the real acoustic echo path
 * (no room here). Synthetic room impulse responses: a direct path, a few early reflections, and an
 * exponentially decaying noise tail with the requested RT60 (−60 dB at RT60), seeded so runs repeat.
 * The path delays, convolves (uniformly partitioned FFT convolution, 256-sample blocks), scales, and can
 * model a clipping loudspeaker; it can change mid-stream with a short crossfade (the player turns, the NPC walks).
 */
import { Fft } from './fft.ts';

export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * How loud the direct sound is against the reverberation: 20·log10(rc / r), rc the critical distance
 * 0.057·√(Q·V/RT60) (Sabine). Default: desk speakers (Q 2) 0.5 m from the mic in a 40 m³ room.
 */
export function directToReverberantDb(rt60: number, room: { distanceM?: number; volumeM3?: number; q?: number } = {}): number {
  const rc = 0.057 * Math.sqrt(((room.q ?? 2) * (room.volumeM3 ?? 40)) / rt60);
  return 20 * Math.log10(rc / (room.distanceM ?? 0.5));
}

/** Unit-energy synthetic RIR at `rate`, `rt60` seconds (truncated at −60 dB). */
export function syntheticRir(rt60: number, seed = 1, rate = 24_000, drrDb = directToReverberantDb(rt60)): Float32Array {
  const random = seeded(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const n = Math.ceil(rt60 * rate);
  const h = new Float32Array(n);
  h[0] = 1; // direct path
  for (let k = 0; k < 6; k++) h[Math.floor((0.002 + 0.018 * random()) * rate)]! += (random() < 0.5 ? -1 : 1) * (0.3 + 0.4 * random());
  const decay = Math.log(1000) / (rt60 * rate); // amplitude: −60 dB at rt60
  const tailStart = Math.floor(0.005 * rate);
  const tail = new Float32Array(n);
  let te = 0;
  for (let i = tailStart; i < n; i++) (tail[i] = gauss() * Math.exp(-decay * i)), (te += tail[i]! ** 2);
  // early reflections count as reverberant energy; the diffuse tail makes up the rest of the requested ratio
  let early = 0;
  for (let i = 1; i < tailStart * 4; i++) early += h[i]! ** 2;
  const wantReverb = 10 ** (-drrDb / 10); // relative to the direct path's energy (1)
  const tailGain = Math.sqrt(Math.max(wantReverb - early, wantReverb * 0.5) / te);
  for (let i = tailStart; i < n; i++) h[i]! += tailGain * tail[i]!;
  let e = 0;
  for (let i = 0; i < n; i++) e += h[i]! * h[i]!;
  const g = 1 / Math.sqrt(e);
  for (let i = 0; i < n; i++) h[i]! *= g;
  return h;
}

/** Streaming FFT convolution with a fixed impulse response; output lags input by `latency` samples. */
export class Convolver {
  static readonly B = 256;
  readonly latency = Convolver.B;
  private readonly fft = new Fft(2 * Convolver.B);
  private readonly parts: { re: Float64Array; im: Float64Array }[] = [];
  private readonly fdl: { re: Float64Array; im: Float64Array }[] = [];
  private fdlPos = 0;
  private readonly prev = new Float64Array(Convolver.B);
  private readonly inBuf = new Float32Array(Convolver.B);
  private inLen = 0;
  private readonly lastOut = new Float64Array(Convolver.B); // the previous block's output, read one block later
  private readonly re = new Float64Array(2 * Convolver.B);
  private readonly im = new Float64Array(2 * Convolver.B);

  constructor(ir: Float32Array) {
    const B = Convolver.B;
    for (let p = 0; p * B < ir.length; p++) {
      const re = new Float64Array(2 * B);
      const im = new Float64Array(2 * B);
      for (let i = 0; i < B && p * B + i < ir.length; i++) re[i] = ir[p * B + i]!;
      this.fft.transform(re, im);
      this.parts.push({ re, im });
      this.fdl.push({ re: new Float64Array(2 * B), im: new Float64Array(2 * B) });
    }
  }

  process(x: Float32Array): Float32Array {
    const B = Convolver.B;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      out[i] = this.lastOut[this.inLen]!;
      this.inBuf[this.inLen++] = x[i]!;
      if (this.inLen === B) this.block();
    }
    return out;
  }

  private block(): void {
    const B = Convolver.B;
    const P = this.parts.length;
    this.fdlPos = (this.fdlPos + P - 1) % P;
    const slot = this.fdl[this.fdlPos]!;
    // overlap-save: [previous block, this block]
    for (let i = 0; i < B; i++) (slot.re[i] = this.prev[i]!), (slot.re[B + i] = this.inBuf[i]!);
    slot.im.fill(0);
    this.fft.transform(slot.re, slot.im);
    for (let i = 0; i < B; i++) this.prev[i] = this.inBuf[i]!;
    const re = this.re.fill(0);
    const im = this.im.fill(0);
    for (let p = 0; p < P; p++) {
      const X = this.fdl[(this.fdlPos + p) % P]!;
      const H = this.parts[p]!;
      for (let k = 0; k < 2 * B; k++) {
        re[k] += X.re[k]! * H.re[k]! - X.im[k]! * H.im[k]!;
        im[k] += X.re[k]! * H.im[k]! + X.im[k]! * H.re[k]!;
      }
    }
    this.fft.transform(re, im, true);
    for (let i = 0; i < B; i++) this.lastOut[i] = re[B + i]!;
    this.inLen = 0;
  }
}

export interface EchoPathSpec {
  /** speaker-to-mic delay on top of the room's response, ms (the direct path arrives this late) */
  delayMs: number;
  rt60: number;
  gainDb: number;
  /** a small loudspeaker driven into saturation (soft clip, then hard clip) */
  clipping?: boolean;
  seed?: number;
}

class SinglePath {
  private readonly conv: Convolver;
  private readonly delay: Float32Array;
  private delayPos = 0;
  private readonly gain: number;

  constructor(readonly spec: EchoPathSpec, rate: number) {
    this.conv = new Convolver(syntheticRir(spec.rt60, spec.seed ?? 1, rate));
    const d = Math.round((spec.delayMs / 1000) * rate) - this.conv.latency;
    if (d < 0) throw new Error(`echo path: delay ${spec.delayMs} ms is below the simulator's ${this.conv.latency} samples`);
    this.delay = new Float32Array(d);
    this.gain = 10 ** (spec.gainDb / 20);
  }

  process(x: Float32Array): Float32Array {
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      let v = x[i]!;
      if (this.spec.clipping) v = Math.max(-0.3, Math.min(0.3, 0.35 * Math.tanh(v * 3)));
      if (this.delay.length) {
        const old = this.delay[this.delayPos]!;
        this.delay[this.delayPos] = v;
        this.delayPos = (this.delayPos + 1) % this.delay.length;
        v = old;
      }
      y[i] = v;
    }
    const h = this.conv.process(y);
    for (let i = 0; i < h.length; i++) h[i]! *= this.gain;
    return h;
  }
}

/** Speakers → room → microphone. `change(spec)` moves to another path over a 50 ms crossfade. */
export class EchoPath {
  private current: SinglePath;
  private next: SinglePath | null = null;
  private fade = 0;
  private readonly fadeLen: number;

  constructor(spec: EchoPathSpec, readonly rate = 24_000) {
    this.current = new SinglePath(spec, rate);
    this.fadeLen = Math.round(0.05 * rate);
  }

  change(spec: EchoPathSpec): void {
    this.next = new SinglePath(spec, this.rate);
    this.fade = 0;
  }

  process(played: Float32Array): Float32Array {
    const a = this.current.process(played);
    if (!this.next) return a;
    const b = this.next.process(played);
    for (let i = 0; i < a.length; i++) {
      const w = Math.min(1, this.fade++ / this.fadeLen);
      a[i] = a[i]! * (1 - w) + b[i]! * w;
    }
    if (this.fade >= this.fadeLen) (this.current = this.next), (this.next = null);
    return a;
  }
}
