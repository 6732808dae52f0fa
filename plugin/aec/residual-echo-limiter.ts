/**
 * The last line behind AEC3: where a block of the microphone holds nothing but echo, what is left of it after the
 * canceller is capped `floorDb` under the mic. AEC3 lets short leaks through on speech it models badly (60–100 ms of
 * a voiced sound 7–16 dB down, right after the relearned AEC3 takes over and now and then later; docs/plugin.md,
 * Echo), which is what kept 25 dB within 2 s from holding in every simulated room.
 *
 * Whether a block holds anything but echo is decided without AEC3's own estimates: an envelope model of the echo
 * predicts the mic's power from the reference's power over the last `tailMs` (the delay and the room's tail), a
 * non-negative weight per 10 ms block learned on blocks AEC3 clearly cancelled (≥ `learnDb` off: the mic was
 * echo). A block whose mic is within `nearMarginDb` of that prediction has no talker above the echo; a block above
 * it has one, and leaves the next `holdMs` alone too (a talker's quieter syllables).
 *
 * Block powers carry no spectrum, so the model is good to about ±3 dB: a player no louder than the echo looks like
 * echo to it. That is why the margin is 3 dB and the hold 300 ms; each step further (a 4 dB margin, a deeper
 * floor, a faster model) took more rooms to 25 dB but cost the double-talk loop cuts of over a second (bench echo).
 * No delay added; a few hundred multiply-adds per 10 ms block.
 */
export interface ResidualEchoLimiterOptions {
  /** reference history the envelope model spans (ms): the delay plus the room's tail (800) */
  tailMs?: number;
  /** the model learns only on blocks the canceller took at least this much off (dB, 10) */
  learnDb?: number;
  /** a mic this close to the predicted echo, or under it, holds no talker (dB, 3) */
  nearMarginDb?: number;
  /** what is left of an echo-only block is capped this far under the mic (dB, 28) */
  floorDb?: number;
  /** the most one block is turned down (dB, 40) */
  maxCutDb?: number;
  /** the model's step size (normalised LMS on block powers, 0.2) */
  step?: number;
  /** after a block with a talker above the echo, blocks are left alone this long (ms, 300): a talker's quieter syllables */
  holdMs?: number;
}

/** Mean square of a block under which nothing is predicted (−90 dBFS): no echo expected, nothing to cap. */
const NO_ECHO_MEAN_SQUARE = 1e-9;

export class ResidualEchoLimiter {
  private readonly weights: Float64Array;
  /** reference block powers, newest first */
  private readonly history: Float64Array;
  private readonly learnRatio: number;
  private readonly nearRatio: number;
  private readonly floorRatio: number;
  private readonly minGain: number;
  private readonly step: number;
  private gain = 1;
  private readonly holdBlocks: number;
  private holdLeft = 0;
  /** blocks capped so far (for tests and benches) */
  capped = 0;

  constructor(
    private readonly block: number,
    rate: number,
    o: ResidualEchoLimiterOptions = {},
  ) {
    const taps = Math.max(1, Math.round(((o.tailMs ?? 800) / 1000) * (rate / block)));
    this.weights = new Float64Array(taps);
    this.history = new Float64Array(taps);
    this.learnRatio = 10 ** (-(o.learnDb ?? 10) / 10);
    this.nearRatio = 10 ** ((o.nearMarginDb ?? 3) / 10);
    this.floorRatio = 10 ** (-(o.floorDb ?? 28) / 10);
    this.minGain = 10 ** (-(o.maxCutDb ?? 40) / 20);
    this.step = o.step ?? 0.2;
    this.holdBlocks = Math.round(((o.holdMs ?? 300) / 1000) * (rate / block));
  }

  /**
   * One block: `mic`, `out` and `ref` are the mean squares of the mic, the canceller's output (`o`) and the
   * reference played at the mic's time. Scales `o` in place (the gain ramps from the last block's, so a cap is not a
   * click) and says whether it did. `cancelled`: the mean square the canceller alone left (before anything else
   * turned the block down), which the model learns from; negative keeps the model as it is (no echo found yet).
   */
  apply(mic: number, out: number, ref: number, o: Float32Array, cancelled = out): boolean {
    const w = this.weights;
    const h = this.history;
    const n = w.length;
    h.copyWithin(1, 0, n - 1);
    h[0] = ref;
    let predicted = 0;
    let norm = 1e-20;
    for (let j = 0; j < n; j++) {
      predicted += w[j]! * h[j]!;
      norm += h[j]! * h[j]!;
    }
    if (cancelled >= 0 && mic > NO_ECHO_MEAN_SQUARE && cancelled < mic * this.learnRatio) {
      const step = (this.step * (mic - predicted)) / norm;
      for (let j = 0; j < n; j++) w[j] = Math.max(0, w[j]! + step * h[j]!);
    }
    let g = 1;
    const talker = mic > this.nearRatio * predicted;
    if (talker) this.holdLeft = this.holdBlocks;
    else if (this.holdLeft > 0) this.holdLeft--;
    if (predicted > NO_ECHO_MEAN_SQUARE && !talker && this.holdLeft === 0 && out > mic * this.floorRatio) {
      g = Math.max(this.minGain, Math.sqrt((mic * this.floorRatio) / out));
      this.capped++;
    }
    const from = this.gain;
    this.gain = g;
    if (g === 1 && from === 1) return false;
    const len = o.length;
    for (let i = 0; i < len; i++) o[i]! *= from + ((i + 1) / len) * (g - from);
    return true;
  }
}
