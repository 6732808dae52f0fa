/**
 * Streaming band-limited resampler to and from the wire's 24 kHz: a Kaiser-windowed sinc read from a polyphase
 * table. It low-passes at the lower of the two Nyquist rates, so downsampling rejects what would alias (48 or
 * 44.1 kHz mic → 24 kHz, 24 kHz mix → 16 kHz VAD) and upsampling rejects images (24 kHz voice → context rate,
 * 22.05 kHz TTS → 24 kHz).
 *
 * The position of the next output is kept as an exact fraction of input samples (integer counters, rebased as
 * input is dropped), so any chunking of the input gives bit-identical output and the long-run rate is exact.
 * When the ratio needs at most `phases` distinct filter phases (every common audio pair does) each phase has its
 * own exact row; otherwise rows are interpolated linearly.
 *
 * Plain TypeScript with no DOM or Node API: the browser worklets bundle it and the server runs it. `process()`
 * allocates nothing once warmed up, which matters on the audio thread.
 */

export interface ResamplerOptions {
  /** zero crossings of the sinc on each side, on the lower rate's scale; more = sharper low-pass, more CPU */
  zeroCrossings?: number;
  /** most rows in the coefficient table; a ratio needing more phases interpolates between rows */
  phases?: number;
  /** Kaiser window β; 8.6 gives about 85 dB of stopband */
  beta?: number;
  /** the stopband starts at this fraction of the lower Nyquist (1 = exactly at it) */
  stopband?: number;
  /**
   * false (default): output k is centred on input k·step and comes out once its whole kernel has arrived, so
   * about `delay` outputs wait inside the filter for more input or `flush`.
   * true: output k comes out as soon as input k·step has arrived, so n inputs always give ceil(n / step) outputs
   * (1920 in → 1280 out at 24 → 16 kHz, every frame); the signal then runs `delay` outputs late, after a ramp in
   * from silence. For consumers that cut the output into fixed windows in step with the input frames (the VAD).
   */
  causal?: boolean;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series), for the Kaiser window. */
function besselI0(x: number): number {
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

/** Tables are read-only and shared: every VAD stream of a server uses the same one. */
const tableCache = new Map<string, Float32Array>();

/**
 * rows × taps coefficients; row r holds the kernel for an output instant r/denominator of an input sample past
 * the tap centre. Each row is normalised to unity DC gain, so a fractional ratio adds no ripple at the phase rate.
 */
function designTable(rows: number, denominator: number, half: number, cutoff: number, beta: number): Float32Array {
  const key = `${rows}/${denominator}/${half}/${cutoff}/${beta}`;
  const cached = tableCache.get(key);
  if (cached) return cached;
  const taps = 2 * half;
  const table = new Float32Array(rows * taps);
  const i0b = besselI0(beta);
  const h = new Float64Array(taps);
  for (let r = 0; r < rows; r++) {
    const frac = r / denominator;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      // tap j multiplies input sample (floor(pos) - half + 1 + j); its distance from the output instant:
      const t = j - half + 1 - frac;
      const x = 2 * cutoff * t;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = t / half;
      const win = Math.abs(w) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - w * w)) / i0b;
      h[j] = 2 * cutoff * sinc * win;
      sum += h[j];
    }
    for (let j = 0; j < taps; j++) table[r * taps + j] = h[j] / sum;
  }
  tableCache.set(key, table);
  return table;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** input samples advanced per output sample */
  readonly step: number;
  /** taps per phase (an even number: half before the output instant, half after) */
  readonly taps: number;
  private readonly half: number;
  /** the ratio in lowest terms: each output advances down/up input samples */
  private readonly up: number;
  private readonly down: number;
  /** true when every phase has its own table row (no interpolation) */
  private readonly exact: boolean;
  private readonly phases: number;
  private readonly table: Float32Array;
  private readonly causal: boolean;
  private buf: Float32Array;
  private bufLen = 0;
  /** position of the next output sample, in input samples from buf[0]: posInt + posRem / up */
  private posInt = 0;
  private posRem = 0;
  private out: Float32Array;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    // Integer rates keep the position an exact fraction; every real audio rate (and AudioContext's) is one.
    if (!(Number.isInteger(inRate) && Number.isInteger(outRate) && inRate > 0 && outRate > 0)) {
      throw new RangeError(`resampler rates must be positive integers (positive and finite, in Hz), got ${inRate} → ${outRate}`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    const g = gcd(inRate, outRate);
    this.up = outRate / g;
    this.down = inRate / g;

    const zc = options.zeroCrossings ?? 24;
    const beta = options.beta ?? 8.6;
    const maxPhases = options.phases ?? 256;
    const scale = Math.min(1, outRate / inRate); // lower Nyquist relative to the input Nyquist
    // Kaiser transition width for this length, then put the cutoff so the stopband begins at `stopband`.
    this.half = Math.ceil(zc / scale);
    this.taps = 2 * this.half;
    const attenuation = beta / 0.1102 + 8.7; // dB, Kaiser's β = 0.1102 (A − 8.7) inverted
    const transition = (attenuation - 8) / (2.285 * this.taps * 2 * Math.PI); // cycles per input sample
    const stop = 0.5 * scale * (options.stopband ?? 1);
    const cutoff = Math.max(0.05 * scale, stop - transition / 2); // cycles per input sample, −6 dB point

    this.causal = options.causal ?? false;
    this.exact = this.up <= maxPhases;
    this.phases = this.exact ? this.up : maxPhases;
    this.table = this.exact
      ? designTable(this.up, this.up, this.half, cutoff, beta)
      : designTable(maxPhases + 1, maxPhases, this.half, cutoff, beta);
    this.buf = new Float32Array(this.taps + 4096);
    this.out = new Float32Array(Math.ceil(4096 / this.step) + 4);
    this.reset();
  }

  /**
   * Group delay in output samples: a sample entering now leaves about this many output samples later. In causal
   * mode it is exact: an impulse at input t peaks at output t / step + delay.
   */
  get delay(): number {
    return (this.causal ? this.half : this.half - 1) / this.step;
  }

  /** Forget all history (after a flush or a discontinuity). */
  reset(): void {
    // Prime with half a kernel of silence so output k is centred on input k × step, from the first one; causal
    // mode primes a whole kernel, so output k is centred `half` inputs earlier and needs nothing past k × step.
    const primed = this.causal ? 2 * this.half - 1 : this.half - 1;
    this.buf.fill(0, 0, primed);
    this.bufLen = primed;
    this.posInt = this.half - 1;
    this.posRem = 0;
  }

  /**
   * Push input samples; returns the output samples now available (see `causal`). The returned array is a view
   * of an internal buffer that the next call overwrites: copy it if you keep it.
   */
  process(input: Float32Array): Float32Array {
    this.ensureInput(input.length);
    this.buf.set(input, this.bufLen);
    this.bufLen += input.length;

    const maxOut = Math.ceil((this.bufLen - this.posInt) / this.step) + 2;
    if (this.out.length < maxOut) this.out = new Float32Array(maxOut * 2);
    const { out, buf, table, taps, half, up, exact, phases } = this;
    const stepInt = Math.floor(this.down / up);
    const stepRem = this.down - stepInt * up;
    const last = this.bufLen - half; // an output needs buf[posInt + half]
    let n = 0;
    let posInt = this.posInt;
    let posRem = this.posRem;
    while (posInt < last) {
      const start = posInt - half + 1;
      let acc0 = 0;
      if (exact) {
        const r0 = posRem * taps;
        for (let j = 0; j < taps; j++) acc0 += buf[start + j] * table[r0 + j];
        out[n++] = acc0;
      } else {
        const fp = (posRem * phases) / up;
        const p = Math.floor(fp);
        const a = fp - p;
        const r0 = p * taps;
        const r1 = r0 + taps;
        let acc1 = 0;
        for (let j = 0; j < taps; j++) {
          const s = buf[start + j];
          acc0 += s * table[r0 + j];
          acc1 += s * table[r1 + j];
        }
        out[n++] = acc0 + a * (acc1 - acc0);
      }
      posInt += stepInt;
      posRem += stepRem;
      if (posRem >= up) {
        posRem -= up;
        posInt++;
      }
    }
    // Drop input no later output can reach; this also keeps the counters small on a stream that runs for days.
    const keepFrom = Math.max(0, posInt - half + 1);
    if (keepFrom > 0) {
      buf.copyWithin(0, keepFrom, this.bufLen);
      this.bufLen -= keepFrom;
      posInt -= keepFrom;
    }
    this.posInt = posInt;
    this.posRem = posRem;
    return out.subarray(0, n);
  }

  /**
   * Feed half a kernel of silence so every output up to the last real input sample comes out (end of a
   * signal). Allocates; not for the audio thread.
   */
  flush(): Float32Array {
    return this.process(new Float32Array(this.half));
  }

  private ensureInput(extra: number): void {
    if (this.bufLen + extra <= this.buf.length) return;
    const next = new Float32Array(Math.max(this.buf.length * 2, this.bufLen + extra + this.taps));
    next.set(this.buf.subarray(0, this.bufLen));
    this.buf = next;
  }
}

/**
 * One-shot: resample a whole signal so that input sample t lands on output t·outRate/inRate (no filter delay)
 * and the result has round(length·outRate/inRate) samples. The rehearsal TTS relies on this for word timing.
 */
export function resampleAligned(input: Float32Array, inRate: number, outRate: number, options?: ResamplerOptions): Float32Array {
  if (inRate === outRate) return new Float32Array(input);
  const r = new Resampler(inRate, outRate, { ...options, causal: false });
  const want = Math.round((input.length * outRate) / inRate);
  const out = new Float32Array(want);
  // Output k is centred on input k × step from the start, so nothing needs dropping; flush drains the tail.
  const body = r.process(input);
  let n = Math.min(want, body.length);
  out.set(body.subarray(0, n));
  if (n < want) {
    const tail = r.flush();
    out.set(tail.subarray(0, want - n), n);
    n += Math.min(tail.length, want - n);
  }
  return out;
}
