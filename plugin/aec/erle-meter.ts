/**
 * What a canceller measures of itself, block by block: its running echo return loss enhancement (mic power over
 * output power, each smoothed over about 0.8 s of far-end activity; blocks where nothing plays do not count, as
 * ERLE is defined while the far end plays), and the mean squares of mic, output and reference over the blocks of
 * its last process() call, for exact ERLE figures in tests and benches.
 */
/**
 * Mean square of a reference block (−60 dBFS) at or under which nothing counts as playing: the cancellers' learning
 * phases and this meter all ask the same question of the far end.
 */
export const FAR_SILENT_MEAN_SQUARE = 1e-6;

export class ErleMeter {
  private readonly a: number;
  private micPow = 0;
  private outPow = 0;
  /** dB; NaN before any far-end activity */
  db = NaN;
  /** mean squares over the last call's blocks (between `startCall` and `endCall`) */
  readonly last = { mic: 0, out: 0, ref: 0 };

  constructor(
    private readonly block: number,
    rate: number,
  ) {
    this.a = (0.05 * block) / (0.04 * rate);
  }

  startCall(): void {
    const l = this.last;
    l.mic = l.out = l.ref = 0;
  }

  /** One block: the sums of squares of its mic, its output and the reference it faced. */
  addBlock(micSumSq: number, outSumSq: number, refSumSq: number): void {
    const l = this.last;
    l.mic += micSumSq;
    l.out += outSumSq;
    l.ref += refSumSq;
    if (refSumSq / this.block < FAR_SILENT_MEAN_SQUARE) return;
    this.micPow += this.a * (micSumSq - this.micPow);
    this.outPow += this.a * (outSumSq - this.outPow);
    this.db = 10 * Math.log10((this.micPow + 1e-12) / (this.outPow + 1e-12));
  }

  /** The call is over: `samples` in all. */
  endCall(samples: number): void {
    const l = this.last;
    l.mic /= samples;
    l.out /= samples;
    l.ref /= samples;
  }
}
