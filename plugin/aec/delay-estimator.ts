/**
 * Bulk delay between a reference (what the speakers played) and a microphone that hears it: the lag at which
 * their log-energy envelopes (5 ms hops) correlate best, with exponential forgetting over about 1 s. Cheap
 * (one multiply-add per lag per hop) and robust to room reverberation and to a talker on the near end, whose
 * envelope does not correlate with the reference. Used to place the adaptive filter's window over the echo.
 */
export interface DelayEstimatorOptions {
  sampleRate: number;
  /** longest delay searched */
  maxDelayMs?: number;
  /** envelope hop */
  hopMs?: number;
  /** memory of the correlation */
  memoryMs?: number;
}

export class DelayEstimator {
  readonly hop: number;
  private readonly lags: number;
  private readonly corr: Float64Array;
  private readonly refEnv: Float64Array; // ring of high-passed reference log-energies, one per hop
  private refEnvPos = 0;
  private readonly forget: number;
  private micNorm = 0;
  private refNorm = 0;
  private micMean = 0;
  private refMean = 0;
  private micAcc = 0;
  private refAcc = 0;
  private accN = 0;
  private refActiveHops = 0;
  /** best lag in samples (a multiple of the hop), or -1 while unknown */
  delay = -1;
  /** normalised correlation at the best lag (0..1) */
  confidence = 0;

  constructor(readonly options: DelayEstimatorOptions) {
    const rate = options.sampleRate;
    this.hop = Math.round(((options.hopMs ?? 5) / 1000) * rate);
    this.lags = Math.ceil(((options.maxDelayMs ?? 600) / 1000) * rate / this.hop) + 1;
    this.corr = new Float64Array(this.lags);
    this.refEnv = new Float64Array(this.lags);
    this.forget = 1 - (options.hopMs ?? 5) / (options.memoryMs ?? 1000);
  }

  /** One sample pair at a time would be slow: feed aligned blocks (same length, same clock). */
  push(mic: Float32Array, ref: Float32Array): void {
    for (let i = 0; i < mic.length; i++) {
      this.micAcc += mic[i]! * mic[i]!;
      this.refAcc += ref[i]! * ref[i]!;
      if (++this.accN === this.hop) this.step();
    }
  }

  private step(): void {
    const floor = 1e-7 * this.hop; // about −70 dBFS: below it a hop counts as silence
    const m = Math.log(this.micAcc + floor);
    const r = Math.log(this.refAcc + floor);
    const refActive = this.refAcc > floor * 10;
    this.micAcc = this.refAcc = this.accN = 0;
    // Slow means removed, so only the envelopes' movements correlate.
    this.micMean += 0.01 * (m - this.micMean);
    this.refMean += 0.01 * (r - this.refMean);
    const zm = m - this.micMean;
    const zr = r - this.refMean;
    this.refEnvPos = (this.refEnvPos + 1) % this.lags;
    this.refEnv[this.refEnvPos] = zr;
    this.refActiveHops = refActive ? this.refActiveHops + 1 : Math.max(0, this.refActiveHops - 1);
    if (this.refActiveHops === 0) return; // nothing played lately: nothing to learn
    const f = this.forget;
    this.micNorm = f * this.micNorm + zm * zm;
    this.refNorm = f * this.refNorm + zr * zr;
    let best = 0;
    let bestLag = -1;
    for (let l = 0, p = this.refEnvPos; l < this.lags; l++, p = p === 0 ? this.lags - 1 : p - 1) {
      const c = (this.corr[l] = f * this.corr[l]! + zm * this.refEnv[p]!);
      if (c > best) (best = c), (bestLag = l);
    }
    const conf = best / (Math.sqrt(this.micNorm * this.refNorm) + 1e-12);
    this.confidence = conf;
    if (bestLag >= 0 && conf > 0.25) this.delay = bestLag * this.hop;
  }

  reset(): void {
    this.corr.fill(0);
    this.refEnv.fill(0);
    this.micNorm = this.refNorm = 0;
    this.delay = -1;
    this.confidence = 0;
  }
}
