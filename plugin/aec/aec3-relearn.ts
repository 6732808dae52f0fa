/**
 * Teaching AEC3 the room again from what it has already heard, so that an NPC's echo is gone about 2 s into its
 * first words instead of 4.
 *
 * AEC3's linear filter adapts a little with every block of far-end speech; through a room it needs 3.5–4 s of
 * speech before it holds 25 dB, and no setting makes it faster without suppressing a player who talks at that
 * moment (docs/plugin.md, Echo). But the capture path has both streams of those first seconds, and the room does not
 * change in them. So a second AEC3 is taught the first `windowS` of far-end activity `passes` times over (short
 * silences between passes, so one pass's tail does not echo into the next's start), then catches up on every block
 * the live one has cancelled since, and takes over from it (the caller swaps them: `Aec3Canceller`).
 *
 * The work is paced by the caller (`step(budget)`), so the audio thread never runs more than a few AEC3 blocks in
 * one render quantum. If the trainer cannot catch up before `maxS` seconds of recording, it is dropped and the live
 * canceller simply goes on learning as it would have.
 */
import type { WebrtcAec3 } from './webrtc-aec3.ts';

export interface Aec3RelearnOptions {
  /**
   * seconds of far-end activity (from the first audible reference block) taught again; default 1.0: with the
   * passes, the gaps and the catching up at the capture worklet's pace it takes over about 1.7 s into the NPC's speech
   */
  windowS?: number;
  /** times the window is taught; default 3 */
  passes?: number;
  /**
   * silence between passes, ms; default 400: longer than the echo (its delay and most of its reverberant tail), or
   * the end of one pass's reference would seem to echo into the start of the next pass
   */
  gapMs?: number;
  /** seconds of recording after which a trainer still behind is given up; default 4 */
  maxS?: number;
}

type Phase = 'waiting' | 'training' | 'done';

export class Aec3Relearn {
  private readonly block: number;
  private readonly window: number; // blocks
  private readonly passes: number;
  private readonly gap: number; // blocks
  private readonly max: number; // blocks
  private readonly silence: Float32Array;
  private readonly scratch: Float32Array;
  private refs: Float32Array;
  private mics: Float32Array;
  private recorded = 0; // blocks
  private trainer: WebrtcAec3 | null;
  private phase: Phase = 'waiting';
  private pass = 0;
  private at = 0; // next recorded block the trainer takes
  private gapLeft = 0;

  /** `trainer` is a fresh AEC3 configured as the live one; it is created up front, not on the audio thread's hot path */
  constructor(trainer: WebrtcAec3, options: Aec3RelearnOptions = {}) {
    this.trainer = trainer;
    this.block = trainer.blockSize;
    const perS = trainer.sampleRate / this.block;
    this.window = Math.max(1, Math.round((options.windowS ?? 1.0) * perS));
    this.passes = Math.max(1, Math.round(options.passes ?? 3));
    this.gap = Math.max(0, Math.round(((options.gapMs ?? 400) / 1000) * perS));
    this.max = Math.max(this.window + 1, Math.round((options.maxS ?? 4) * perS));
    this.silence = new Float32Array(this.block);
    this.scratch = new Float32Array(this.block);
    // allocated now: the worklet must not allocate per block
    this.refs = new Float32Array(this.max * this.block);
    this.mics = new Float32Array(this.max * this.block);
  }

  /** Whether a trainer is still at work (recording or catching up). */
  get active(): boolean {
    return this.phase !== 'done';
  }

  /**
   * One block the live canceller is about to cancel (its reference and raw mic). Recording starts with the first block
   * whose reference is audible (`farActive`): before the NPC speaks there is nothing to learn.
   */
  record(ref: Float32Array, mic: Float32Array, farActive: boolean): void {
    if (this.phase === 'done' || (this.recorded === 0 && !farActive)) return;
    if (this.recorded >= this.max) return this.giveUp();
    this.refs.set(ref, this.recorded * this.block);
    this.mics.set(mic, this.recorded * this.block);
    this.recorded++;
    if (this.phase === 'waiting' && this.recorded >= this.window) this.phase = 'training';
  }

  /**
   * Run up to `budget` trainer blocks. Returns the trained AEC3 once it has taken every recorded block (the caller
   * hands it the next live block and drops its old one), else null.
   */
  step(budget: number): WebrtcAec3 | null {
    if (this.phase !== 'training' || !this.trainer) return null;
    const t = this.trainer;
    const b = this.block;
    for (let k = 0; k < budget && !this.caughtUp; k++) {
      if (this.gapLeft > 0) {
        this.gapLeft--;
        t.process(this.silence, this.silence, this.scratch);
      } else if (this.pass < this.passes - 1 && this.at >= this.window) {
        // the window again, after a short silence
        this.pass++;
        this.at = 0;
        this.gapLeft = this.gap;
      } else {
        const o = this.at * b;
        t.process(this.mics.subarray(o, o + b), this.refs.subarray(o, o + b), this.scratch);
        this.at++;
      }
    }
    // caught up, even exactly as the budget ran out: hand over now rather than a block later
    return this.caughtUp ? this.finish() : null;
  }

  /** The last pass has taken every block recorded so far. */
  private get caughtUp(): boolean {
    return this.pass === this.passes - 1 && this.gapLeft === 0 && this.at >= this.recorded;
  }

  private finish(): WebrtcAec3 {
    const t = this.trainer!;
    this.trainer = null;
    this.release();
    return t;
  }

  private giveUp(): void {
    this.trainer?.dispose();
    this.trainer = null;
    this.release();
  }

  private release(): void {
    this.phase = 'done';
    this.refs = this.mics = new Float32Array(0);
  }

  dispose(): void {
    this.giveUp();
  }
}
