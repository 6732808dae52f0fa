/**
 * A canceller's running echo return loss enhancement: mic power over output power, each smoothed over about 0.8 s
 * of far-end activity (blocks where nothing plays do not count: ERLE is defined while the far end plays).
 */
export class ErleMeter {
  private readonly a: number;
  private micPow = 0;
  private outPow = 0;
  /** dB; NaN before any far-end activity */
  db = NaN;

  constructor(block: number, rate: number) {
    this.a = (0.05 * block) / (0.04 * rate);
  }

  /** One block: the sums of squares of its mic and output, and the mean square of the reference it faced. */
  update(micSumSq: number, outSumSq: number, refMeanSq: number): void {
    if (refMeanSq < 1e-6) return;
    this.micPow += this.a * (micSumSq - this.micPow);
    this.outPow += this.a * (outSumSq - this.outPow);
    this.db = 10 * Math.log10((this.micPow + 1e-12) / (this.outPow + 1e-12));
  }
}
