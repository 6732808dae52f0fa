/**
 * Stateful rational-ratio resampler: polyphase windowed-sinc (Kaiser window). Feeding a signal in chunks of any
 * size gives exactly the samples that one call on the whole signal gives, so it can sit on a live stream (the
 * 24 kHz hearing mix → 16 kHz VAD, the 22.05 kHz TTS → 24 kHz voice, a 48 kHz decoder → 24 kHz).
 *
 * Upsample by L, low-pass below the lower Nyquist, keep every M-th sample; only the taps that meet real input
 * samples are computed, so each output costs `tapsPerPhase` multiply-adds.
 */

export interface ResamplerOptions {
  /** filter length in input samples; more taps, sharper transition band (default 64) */
  tapsPerPhase?: number;
  /** passband edge as a fraction of the lower Nyquist frequency (default 0.9) */
  cutoff?: number;
  /** Kaiser window beta; 10 gives about 100 dB stopband (default 10) */
  beta?: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind, for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

interface Filter {
  /** phases[p][k] multiplies input sample (i - k) for an output whose upsampled position has phase p */
  phases: Float32Array[];
  taps: number;
}

const filterCache = new Map<string, Filter>();

function designFilter(up: number, down: number, taps: number, cutoff: number, beta: number): Filter {
  const key = `${up}/${down}/${taps}/${cutoff}/${beta}`;
  const cached = filterCache.get(key);
  if (cached) return cached;
  const length = taps * up;
  // Cutoff in cycles per upsampled sample: the lower of the two Nyquist rates, scaled into the upsampled rate.
  const fc = (cutoff * 0.5) / Math.max(up, down);
  const centre = (length - 1) / 2;
  const i0beta = besselI0(beta);
  const phases = Array.from({ length: up }, () => new Float32Array(taps));
  for (let j = 0; j < length; j++) {
    const t = j - centre;
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    const r = (2 * j) / (length - 1) - 1;
    const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0beta;
    // Gain `up` makes up for the zeros stuffed between input samples.
    phases[j % up]![Math.floor(j / up)] = sinc * window * up;
  }
  const filter = { phases, taps };
  filterCache.set(key, filter);
  return filter;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly up: number;
  private readonly down: number;
  private readonly filter: Filter;
  /** the last `taps - 1` input samples, then room for the next chunk */
  private history: Float32Array;
  private held: number;
  /** index, in input samples since the start, of history[0] */
  private historyStart: number;
  /** upsampled position of the next output sample */
  private nextUp = 0;
  private inputCount = 0;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!(Number.isInteger(inRate) && Number.isInteger(outRate) && inRate > 0 && outRate > 0)) {
      throw new Error(`resampler rates must be positive integers, got ${inRate} → ${outRate}`);
    }
    const g = gcd(inRate, outRate);
    this.inRate = inRate;
    this.outRate = outRate;
    this.up = outRate / g;
    this.down = inRate / g;
    const taps = options.tapsPerPhase ?? 64;
    this.filter = designFilter(this.up, this.down, taps, options.cutoff ?? 0.9, options.beta ?? 10);
    // Start as if preceded by silence, so the first outputs exist at once (delay is reported, not hidden).
    this.history = new Float32Array(Math.max(4096, 2 * taps));
    this.held = taps - 1;
    this.historyStart = -(taps - 1);
  }

  /**
   * Group delay in output samples: an impulse at input time t comes out at output time
   * t·outRate/inRate + delay. Callers that need alignment drop this many leading outputs.
   */
  get delay(): number {
    return ((this.filter.taps * this.up - 1) / 2 / this.up) * (this.outRate / this.inRate);
  }

  /** Outputs that `process` will return for `inputs` more input samples (for sizing buffers). */
  outputsFor(inputs: number): number {
    const total = this.inputCount + inputs;
    // Output n needs input floor(n·down/up) < total.
    const available = Math.floor((total * this.up - 1) / this.down) + 1;
    const done = this.nextUp / this.down;
    return Math.max(0, available - done);
  }

  /** Feed input samples; returns every output sample they complete. */
  process(input: Float32Array): Float32Array {
    this.append(input);
    const n = this.outputsFor(0);
    const out = new Float32Array(n);
    const { phases, taps } = this.filter;
    const h = this.history;
    for (let o = 0; o < n; o++) {
      const pos = this.nextUp;
      const i = Math.floor(pos / this.up); // newest input sample this output uses
      const coeffs = phases[pos - i * this.up]!;
      let acc = 0;
      let idx = i - this.historyStart;
      for (let k = 0; k < taps; k++, idx--) acc += coeffs[k]! * h[idx]!;
      out[o] = acc;
      this.nextUp += this.down;
    }
    this.trim();
    return out;
  }

  /** Feed `delay` worth of silence so that every real input sample has reached the output. */
  flush(): Float32Array {
    return this.process(new Float32Array(Math.ceil(this.filter.taps / 2) + 1));
  }

  reset(): void {
    this.history.fill(0);
    this.held = this.filter.taps - 1;
    this.historyStart = -(this.filter.taps - 1);
    this.nextUp = 0;
    this.inputCount = 0;
  }

  private append(input: Float32Array) {
    if (this.held + input.length > this.history.length) {
      const grown = new Float32Array(Math.max(this.history.length * 2, this.held + input.length));
      grown.set(this.history.subarray(0, this.held));
      this.history = grown;
    }
    this.history.set(input, this.held);
    this.held += input.length;
    this.inputCount += input.length;
  }

  /** Drop input samples no future output needs. */
  private trim() {
    const nextI = Math.floor(this.nextUp / this.up);
    const keepFrom = nextI - (this.filter.taps - 1); // oldest sample the next output reads
    const drop = keepFrom - this.historyStart;
    if (drop <= 0) return;
    this.history.copyWithin(0, drop, this.held);
    this.held -= drop;
    this.historyStart += drop;
    // Rebase counters so they never grow without bound on a stream that runs for days.
    const periods = Math.floor(this.historyStart / this.down);
    if (periods > 0) {
      const inputs = periods * this.down;
      this.historyStart -= inputs;
      this.inputCount -= inputs;
      this.nextUp -= inputs * this.up;
    }
  }
}

/** One-shot helper: resample a whole signal and drop the filter delay, so sample t maps to t·out/in. */
export function resampleAligned(input: Float32Array, inRate: number, outRate: number, options?: ResamplerOptions): Float32Array {
  if (inRate === outRate) return new Float32Array(input);
  const r = new Resampler(inRate, outRate, options);
  const body = r.process(input);
  const tail = r.flush();
  const skip = Math.round(r.delay);
  const want = Math.round((input.length * outRate) / inRate);
  const all = new Float32Array(body.length + tail.length);
  all.set(body);
  all.set(tail, body.length);
  const out = new Float32Array(want);
  out.set(all.subarray(skip, skip + want));
  return out;
}
