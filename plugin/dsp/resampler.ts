/**
 * Streaming band-limited resampler: a Kaiser-windowed sinc evaluated from a polyphase table with linear
 * interpolation between phases. It low-passes at the lower of the two Nyquist rates, so downsampling rejects
 * what would alias (48 kHz or 44.1 kHz mic → 24 kHz) and upsampling rejects images (24 kHz voice → context rate).
 *
 * Plain TypeScript with no DOM or Node API: the capture and playback worklets import it, and the unit tests
 * run it in Node. `process()` allocates nothing once warmed up, which matters on the audio thread.
 */

export interface ResamplerOptions {
  /** zero crossings of the sinc on each side, on the lower rate's scale; more = sharper low-pass, more CPU */
  zeroCrossings?: number;
  /** phases in the coefficient table; interpolated linearly between neighbours */
  phases?: number;
  /** Kaiser window β; 8.6 gives about 85 dB of stopband */
  beta?: number;
  /** the stopband starts at this fraction of the lower Nyquist (1 = exactly at it) */
  stopband?: number;
}

function besselI0(x: number): number {
  // Power series; converges fast for the β range used here.
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** input samples advanced per output sample */
  readonly step: number;
  /** taps per phase (an even number: half before the output instant, half after) */
  readonly taps: number;
  private readonly half: number;
  private readonly phases: number;
  private readonly table: Float32Array; // (phases + 1) × taps
  private buf: Float32Array;
  private bufLen: number;
  /** position of the next output sample, in input samples from buf[0] */
  private pos: number;
  private out: Float32Array;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!(inRate > 0 && outRate > 0 && Number.isFinite(inRate) && Number.isFinite(outRate))) {
      throw new RangeError(`resampler rates must be positive and finite (got ${inRate} → ${outRate})`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    const zc = options.zeroCrossings ?? 24;
    this.phases = options.phases ?? 256;
    const beta = options.beta ?? 8.6;
    const scale = Math.min(1, outRate / inRate); // lower Nyquist relative to the input Nyquist
    // Kaiser transition width for this length, then put the cutoff so the stopband begins at `stopband`.
    this.half = Math.ceil(zc / scale);
    this.taps = 2 * this.half;
    const attenuation = beta / 0.1102 + 8.7; // dB, Kaiser's β = 0.1102 (A − 8.7) inverted
    const transition = (attenuation - 8) / (2.285 * this.taps * 2 * Math.PI); // cycles per input sample
    const stop = 0.5 * scale * (options.stopband ?? 1);
    const cutoff = Math.max(0.05 * scale, stop - transition / 2); // cycles per input sample, −6 dB point

    this.table = new Float32Array((this.phases + 1) * this.taps);
    const i0b = besselI0(beta);
    for (let p = 0; p <= this.phases; p++) {
      const frac = p / this.phases;
      let sum = 0;
      const row = p * this.taps;
      for (let j = 0; j < this.taps; j++) {
        // tap j multiplies input sample (floor(pos) - half + 1 + j); its distance from the output instant:
        const t = j - this.half + 1 - frac;
        const x = 2 * cutoff * t;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const w = t / this.half;
        const win = Math.abs(w) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - w * w)) / i0b;
        const h = 2 * cutoff * sinc * win;
        this.table[row + j] = h;
        sum += h;
      }
      // Unity DC gain at every phase, so a fractional ratio does not add a ripple at the phase rate.
      for (let j = 0; j < this.taps; j++) this.table[row + j] /= sum;
    }
    this.buf = new Float32Array(this.taps + 4096);
    this.out = new Float32Array(Math.ceil(4096 / this.step) + 4);
    this.bufLen = 0;
    this.pos = 0;
    this.reset();
  }

  /** Group delay in output samples: a sample entering now leaves about this many output samples later. */
  get delay(): number {
    return (this.half - 1) / this.step;
  }

  /** Forget all history (after a flush or a discontinuity). */
  reset(): void {
    // Prime with half a kernel of silence so the first output sample is centred on the first input sample.
    this.buf.fill(0, 0, this.half - 1);
    this.bufLen = this.half - 1;
    this.pos = this.half - 1;
  }

  /**
   * Push input samples; returns the output samples now available. The returned array is a view of an internal
   * buffer that the next call overwrites: copy it if you keep it.
   */
  process(input: Float32Array): Float32Array {
    this.ensureInput(input.length);
    this.buf.set(input, this.bufLen);
    this.bufLen += input.length;

    const maxOut = Math.ceil((this.bufLen - this.pos) / this.step) + 2;
    if (this.out.length < maxOut) this.out = new Float32Array(maxOut * 2);
    const out = this.out;
    const buf = this.buf;
    const table = this.table;
    const taps = this.taps;
    const phases = this.phases;
    const half = this.half;
    let n = 0;
    let pos = this.pos;
    for (;;) {
      const base = Math.floor(pos);
      if (base + half >= this.bufLen) break;
      const fp = (pos - base) * phases;
      const p = Math.floor(fp);
      const a = fp - p;
      const r0 = p * taps;
      const r1 = r0 + taps;
      const start = base - half + 1;
      let acc0 = 0;
      if (a === 0) {
        // Integer ratios (48 kHz ↔ 24 kHz) always land on a table phase: one dot product.
        for (let j = 0; j < taps; j++) acc0 += buf[start + j] * table[r0 + j];
        out[n++] = acc0;
      } else {
        let acc1 = 0;
        for (let j = 0; j < taps; j++) {
          const s = buf[start + j];
          acc0 += s * table[r0 + j];
          acc1 += s * table[r1 + j];
        }
        out[n++] = acc0 + a * (acc1 - acc0);
      }
      pos += this.step;
    }
    // Drop input no later output can reach.
    const keepFrom = Math.max(0, Math.floor(pos) - half + 1);
    if (keepFrom > 0) {
      buf.copyWithin(0, keepFrom, this.bufLen);
      this.bufLen -= keepFrom;
      pos -= keepFrom;
    }
    this.pos = pos;
    return out.subarray(0, n);
  }

  private ensureInput(extra: number): void {
    if (this.bufLen + extra <= this.buf.length) return;
    const next = new Float32Array(Math.max(this.buf.length * 2, this.bufLen + extra + this.taps));
    next.set(this.buf.subarray(0, this.bufLen));
    this.buf = next;
  }
}
