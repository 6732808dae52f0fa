/**
 * Echo cancellation as the capture worklet runs it. Each render quantum the worklet hands over what the audio
 * engine is playing right now (a tap of its output on the capture node's second input) and this resamples it to
 * 24 kHz with a resampler identical to the microphone's, so reference and mic samples share one index: the
 * context's sample clock, the clock the voices' samples-played positions are read on. What remains unknown —
 * output latency, the room, input latency — is the delay AEC3 estimates.
 *
 * The mic is cancelled as it arrives, one 10 ms block at a time (`cancel`), not a whole 80 ms frame in one render
 * quantum: AEC3 costs about 0.5 ms a block, and eight of them in one 2.7 ms quantum would hold up the audio thread
 * that also plays the NPCs. Blocks line up with frames (1920 = 8 × 240), so a frame is complete, cancelled, in the
 * quantum its last mic sample arrives in: cancelling block by block adds no delay.
 */
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { Aec3Canceller, type Aec3CancellerOptions } from './aec3-canceller.ts';
import type { Aec3Wasm } from './webrtc-aec3.ts';

export class CaptureEcho {
  private readonly resampler: Resampler;
  private readonly canceller: Aec3Canceller;
  private mono = new Float32Array(128);
  /** mic samples waiting for their block to fill */
  private readonly held: Float32Array;
  private heldCount = 0;
  /** what `cancel` returns: a reused buffer, grown as needed */
  private outBuf = new Float32Array(1024);
  /** since `takeFrameStats`: mean-square sums of mic, output and reference, blocks, and audio-thread ms spent */
  private sums = { mic: 0, out: 0, ref: 0, blocks: 0, ms: 0 };

  constructor(wasm: Aec3Wasm, contextRate: number, targetRate: number, options: Aec3CancellerOptions = {}) {
    this.resampler = new Resampler(contextRate, targetRate);
    // The relearning AEC3 (aec3-relearn.ts) is paced here, a quantum at a time, not inside whole frames.
    this.canceller = new Aec3Canceller(wasm, { ...options, sampleRate: targetRate, relearnPace: 0 });
    this.held = new Float32Array(this.canceller.block);
  }

  /** samples per block: `cancel` returns whole blocks */
  get block(): number {
    return this.canceller.block;
  }

  /** Whether the relearning AEC3 is still at work (aec3-relearn.ts). */
  get relearning(): boolean {
    return this.canceller.relearning;
  }

  /** Mic samples taken by `cancel` and not yet returned (less than a block). */
  get pending(): number {
    return this.heldCount;
  }

  /** This quantum's output of the audio engine (any channels; silence when nothing is connected). */
  reference(channels: readonly Float32Array[] | undefined, quantum: number): void {
    if (this.mono.length !== quantum) this.mono = new Float32Array(quantum);
    const m = this.mono;
    m.fill(0);
    const n = channels?.length ?? 0;
    for (let c = 0; c < n; c++) {
      const ch = channels![c]!;
      for (let i = 0; i < quantum; i++) m[i] += ch[i]! / n;
    }
    this.canceller.pushReference(this.resampler.process(m));
  }

  /**
   * Mic samples in (24 kHz, continuing the stream), cancelled samples out: every block these complete. The result
   * starts `pending` (as it was before the call) samples before `mic` does, and is valid until the next call.
   * Throws EchoFailure (holding every sample taken) if the canceller fails.
   */
  cancel(mic: Float32Array): Float32Array {
    const total = this.heldCount + mic.length;
    const blocks = Math.floor(total / this.block);
    const n = blocks * this.block;
    if (this.outBuf.length < n) this.outBuf = new Float32Array(n);
    const out = this.outBuf.subarray(0, n);
    if (n === 0) {
      this.held.set(mic, this.heldCount);
      this.heldCount = total;
      if (this.canceller.relearning) {
        const t0 = now();
        try {
          this.canceller.train(TRAIN_BLOCKS_IDLE);
        } catch (err) {
          const samples = this.held.slice(0, this.heldCount); // no mic sample is lost
          this.heldCount = 0;
          throw new EchoFailure(err, samples);
        }
        this.sums.ms += now() - t0;
      }
      return out;
    }
    out.set(this.held.subarray(0, this.heldCount));
    out.set(mic.subarray(0, n - this.heldCount), this.heldCount);
    const rest = mic.subarray(n - this.heldCount);
    this.held.set(rest);
    this.heldCount = rest.length;
    const t0 = now();
    try {
      this.canceller.train(TRAIN_BLOCKS_BUSY);
      for (let b = 0; b < n; b += this.block) {
        this.canceller.process(out.subarray(b, b + this.block));
        const last = this.canceller.stats.last;
        this.sums.mic += last.mic;
        this.sums.out += last.out;
        this.sums.ref += last.ref;
        this.sums.blocks++;
      }
    } catch (err) {
      // No mic sample is lost with the canceller: the caller gets them all back, cancelled as far as it got.
      const samples = new Float32Array(n + this.heldCount);
      samples.set(out);
      samples.set(this.held.subarray(0, this.heldCount), n);
      this.heldCount = 0;
      throw new EchoFailure(err, samples);
    }
    this.sums.ms += now() - t0;
    return out;
  }

  /** Drop the mic samples held for an unfinished block, uncancelled (the worklet discards its partial frame). */
  discardPending(): void {
    this.canceller.skip(this.heldCount);
    this.heldCount = 0;
  }

  /** Figures over the blocks cancelled since the last call (one frame's worth, in the worklet). */
  takeFrameStats(): { erleDb: number; delayMs: number; costMs: number; power: { mic: number; out: number; ref: number } } {
    const s = this.sums;
    const k = Math.max(1, s.blocks);
    const figures = {
      erleDb: this.canceller.stats.erleDb,
      delayMs: this.canceller.stats.delayMs,
      costMs: s.ms,
      power: { mic: s.mic / k, out: s.out / k, ref: s.ref / k },
    };
    s.mic = s.out = s.ref = s.blocks = s.ms = 0;
    return figures;
  }

  get stats() {
    return this.canceller.stats;
  }

  dispose(): void {
    this.canceller.dispose();
  }
}

/** The canceller failed inside `cancel`; `samples` are the mic samples it had taken, to be sent uncancelled. */
export class EchoFailure extends Error {
  constructor(
    cause: unknown,
    readonly samples: Float32Array,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

/**
 * Relearning AEC3 blocks per render quantum (aec3-relearn.ts): two in a quantum that cancels no mic block, one in a
 * quantum that does, so no quantum runs more than two AEC3 blocks (three once, at the handover; ≈ 0.5 ms each on
 * the 2-core test machine, of a 2.7 ms quantum at 48 kHz) for the second or so it takes. At 48 kHz that is 6.5
 * trainer blocks per mic block, `relearnPace`'s default.
 */
const TRAIN_BLOCKS_IDLE = 2;
const TRAIN_BLOCKS_BUSY = 1;

// AudioWorkletGlobalScope has no performance object in every browser; Date is coarse but always there.
const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
