/**
 * Cuts a continuous 24 kHz sample stream into fixed frames (1920 samples = 80 ms), numbering them and stamping
 * each with the capture time of its first sample. Runs inside the capture worklet; plain TS so it is testable.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';

export interface CapturedFrame {
  /** +1 per frame, from `firstSeq` */
  seq: number;
  /** capture time of the frame's first sample, on the clock the caller's times use, ms */
  t: number;
  /** a fresh array the receiver owns (transferable) */
  samples: Float32Array;
}

export class Framer {
  private frame: Float32Array;
  private filled = 0;
  private frameT = 0;
  private nextSeq: number;

  constructor(
    private readonly onFrame: (frame: CapturedFrame) => void,
    readonly frameSamples = FRAME_SAMPLES,
    readonly sampleRate = SAMPLE_RATE,
    firstSeq = 0,
  ) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) throw new RangeError('frameSamples must be a positive integer');
    this.frame = new Float32Array(frameSamples);
    this.nextSeq = firstSeq;
  }

  /** Sequence number the next completed frame will carry. */
  get seq(): number {
    return this.nextSeq;
  }

  /** Samples waiting for the current frame to fill. */
  get pending(): number {
    return this.filled;
  }

  /**
   * Append samples whose first sample was captured at `t` ms. Emits every frame completed by them, in order.
   */
  push(samples: Float32Array, t: number): void {
    const msPerSample = 1000 / this.sampleRate;
    let i = 0;
    while (i < samples.length) {
      if (this.filled === 0) this.frameT = t + i * msPerSample;
      const n = Math.min(this.frameSamples - this.filled, samples.length - i);
      this.frame.set(samples.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
      if (this.filled === this.frameSamples) {
        const done = this.frame;
        this.frame = new Float32Array(this.frameSamples);
        this.filled = 0;
        this.onFrame({ seq: this.nextSeq++, t: this.frameT, samples: done });
      }
    }
  }

  /** Drop a partly filled frame (e.g. after the input stalled); numbering continues. */
  discardPartial(): void {
    this.filled = 0;
  }
}
