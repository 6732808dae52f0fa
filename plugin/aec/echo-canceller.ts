/**
 * Cancels what the speakers played from what the microphone heard, both on one sample clock (24 kHz here):
 * a delay estimator places speexdsp's adaptive filter (tailMs long) over the echo, the filter subtracts the
 * linear echo (its own double-talk detector slows adaptation while the near end talks), and speex's
 * preprocessor suppresses what remains. Streams of any chunking; `process` takes whole blocks.
 *
 * Used by the capture worklet (reference: a tap of the audio engine's output) and by the server's echo gate
 * (reference: the NPC voices sent to that player).
 */
import { DelayEstimator } from './delay-estimator.ts';
import { sumOfSquares } from '../../protocol/dsp/level.ts';
import { ErleMeter, FAR_SILENT_MEAN_SQUARE } from './erle-meter.ts';
import { ReferenceRing } from './reference-ring.ts';
import { SpeexAec, type SpeexWasm } from './speex-aec.ts';

export interface EchoCancellerOptions {
  sampleRate?: number;
  /** speex frame: 40 ms (two per 80 ms frame; fewer, longer blocks converge faster on speech here) */
  blockMs?: number;
  /** echo tail the adaptive filter models after the estimated delay */
  tailMs?: number;
  /** longest bulk delay searched between reference and echo */
  maxDelayMs?: number;
  /** how much of the filter lies before the estimated delay (the estimate is coarse) */
  marginMs?: number;
  /** residual echo suppression, dB, far end alone / both talking */
  suppressDb?: number;
  suppressActiveDb?: number;
  /**
   * While the filter learns (its first `learnS` seconds of far-end activity), a block in which the mic is not
   * clearly louder than the reference (≤ +3 dB: no talker above the echo) is attenuated by `learnDb`, so the
   * unconverged echo cannot pass. 0 turns this off.
   */
  learnS?: number;
  learnDb?: number;
  /** residual echo suppression passes (SpeexAec; 1: each pass delays the output by one block) */
  suppressPasses?: number;
  /** speex's step-size statistics tracking this many times faster than its defaults (SpeexAec.setSpeed; 1) */
  speed?: number;
}

export interface EchoCancellerStats {
  /** echo return loss enhancement over the last ~second of far-end activity, dB (NaN before any) */
  erleDb: number;
  /** where the filter's window starts, ms behind the reference */
  offsetMs: number;
  /** the delay estimator's current estimate, ms (NaN while unknown) */
  delayMs: number;
  /** times the filter was re-placed because the echo moved */
  replaced: number;
  /** mean squares of the last process() call's mic, output and (aligned) reference, to measure ERLE exactly */
  last: { mic: number; out: number; ref: number };
}

export class EchoCanceller {
  readonly rate: number;
  readonly block: number;
  private readonly aec: SpeexAec;
  private readonly estimator: DelayEstimator;
  private readonly reference: ReferenceRing;
  private micAt = 0; // absolute index of the next mic sample
  private offset = 0; // samples: the filter's window starts this far behind the mic
  private readonly margin: number;
  private readonly filterLength: number;
  private pendingDelay = -1;
  private pendingCount = 0;
  private readonly refBlock: Float32Array;
  private readonly micBlock: Float32Array;
  private readonly erle: ErleMeter;
  private learnLeft: number; // far-end blocks still in the learning phase
  private readonly learnGain: number;
  readonly stats: EchoCancellerStats = { erleDb: NaN, offsetMs: 0, delayMs: NaN, replaced: 0, last: { mic: 0, out: 0, ref: 0 } };

  constructor(wasm: SpeexWasm, options: EchoCancellerOptions = {}) {
    this.rate = options.sampleRate ?? 24_000;
    const ms = (v: number) => Math.round((v / 1000) * this.rate);
    this.block = ms(options.blockMs ?? 40);
    this.margin = ms(options.marginMs ?? 40);
    const tail = ms(options.tailMs ?? 200);
    this.filterLength = Math.ceil((this.margin + tail) / this.block) * this.block;
    const maxDelayMs = options.maxDelayMs ?? 600;
    this.aec = new SpeexAec(wasm, {
      sampleRate: this.rate,
      frameSize: this.block,
      filterLength: this.filterLength,
      suppressDb: options.suppressDb ?? -40,
      suppressActiveDb: options.suppressActiveDb ?? -15,
      speed: options.speed,
      suppressPasses: options.suppressPasses,
    });
    this.estimator = new DelayEstimator({ sampleRate: this.rate, maxDelayMs });
    this.reference = new ReferenceRing(ms(maxDelayMs) + this.filterLength + 8 * this.block);
    this.erle = new ErleMeter(this.block, this.rate);
    this.stats.last = this.erle.last; // the meter keeps the last call's mean squares
    this.refBlock = new Float32Array(this.block);
    this.learnLeft = Math.round(((options.learnS ?? 2) * this.rate) / this.block);
    this.learnGain = 10 ** ((options.learnDb ?? -40) / 20);
    this.micBlock = new Float32Array(this.block);
  }

  /** What the speakers played, continuing the reference stream (same clock as the mic). */
  pushReference(x: Float32Array): void {
    this.reference.push(x);
  }

  /**
   * Cancel the echo from `mic` (length a multiple of the block), writing into `out` (may be `mic`). The mic's
   * first sample is the one following the previous call's last, and shares the clock of the reference.
   */
  process(mic: Float32Array, out: Float32Array = mic): Float32Array {
    if (mic.length % this.block !== 0) throw new Error(`EchoCanceller: ${mic.length} samples is not a multiple of ${this.block}`);
    this.erle.startCall();
    for (let b = 0; b < mic.length; b += this.block) {
      const n0 = this.micAt;
      // The reference as heard now (delay 0): for the estimator. Unplayed time reads as silence.
      const ref = this.refBlock;
      let pr = this.reference.read(n0, ref);
      const m = this.micBlock;
      m.set(mic.subarray(b, b + this.block));
      this.estimator.push(m, ref);
      this.place();
      if (this.offset > 0) pr = this.reference.read(n0 - this.offset, ref);
      const o = out.subarray(b, b + this.block);
      this.aec.process(m, ref, o);
      const pm = sumOfSquares(m);
      if (this.learnLeft > 0 && pr / this.block > FAR_SILENT_MEAN_SQUARE) {
        this.learnLeft--;
        if (pm <= 2 * pr) for (let i = 0; i < this.block; i++) o[i]! *= this.learnGain;
      }
      const po = sumOfSquares(o);
      this.erle.addBlock(pm, po, pr);
      this.micAt += this.block;
    }
    this.erle.endCall(mic.length);
    this.stats.erleDb = this.erle.db;
    return out;
  }

  /** Re-place the filter's window when the estimate has settled somewhere it does not cover well. */
  private place(): void {
    const d = this.estimator.delay;
    this.stats.delayMs = d < 0 ? NaN : (d / this.rate) * 1000;
    if (d < 0) return;
    const want = Math.max(0, d - this.margin);
    // Covered well: the delay lies inside the window's first third (the rest is the room's tail).
    if (d >= this.offset && d - this.offset <= this.filterLength / 3) return;
    if (Math.abs(d - this.pendingDelay) > this.estimator.hop * 2) {
      this.pendingDelay = d;
      this.pendingCount = 0;
      return;
    }
    // Agreement needed before moving: 0.2 s for the first placement, 1 s once the filter has learnt a path.
    if (++this.pendingCount * this.block < (this.stats.replaced === 0 ? 0.2 : 1) * this.rate) return;
    this.offset = want;
    this.stats.offsetMs = (want / this.rate) * 1000;
    this.stats.replaced++;
    this.aec.reset();
    this.pendingCount = 0;
  }

  reset(): void {
    this.aec.reset();
    this.estimator.reset();
    this.offset = 0;
    this.stats.offsetMs = 0;
  }

  dispose(): void {
    this.aec.dispose();
  }
}
