/**
 * The server's second line against an NPC hearing itself: before a player's uplink enters NPC hearing mixes,
 * cancel from it what is coherent with the NPC voices that player was sent. The reference is the sum of the NPC
 * frames sent to the player each tick (scaled by the plugin's inverse-distance attenuation); the uplink and the
 * reference both advance one frame per tick, so they share the tick clock, and the round trip between them
 * (network, the client's playout buffer, output and input latency, the room, the server's jitter buffer) is
 * found by the canceller's delay estimator. The canceller is speexdsp's (adaptive filter plus residual echo
 * suppression; the plugin's capture worklet runs AEC3, which did no better here for 3.5× the CPU); it exists only
 * while the player has been sent NPC voice lately, so a player no NPC talks to costs nothing. By default a player
 * has a gate only when its client did not say it cancels its own echo or wears headphones (player-link.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EchoCanceller, type EchoCancellerStats } from '../../plugin/aec/echo-canceller.ts';
import { meanSquare } from '../../protocol/dsp/level.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { EchoGateSlots } from './echo-gate-slots.ts';

let compiled: WebAssembly.Module | undefined;

/** speexdsp's module, compiled once per process (each gate instantiates its own memory from it). */
export function speexModule(): WebAssembly.Module {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../plugin/aec/speexdsp-aec.wasm');
  return (compiled ??= new WebAssembly.Module(readFileSync(file)));
}

export interface EchoGateOptions {
  /** longest round trip searched between a frame sent and its echo coming back */
  maxDelayMs?: number;
  /** echo tail modelled after that delay */
  tailMs?: number;
  /** the canceller is dropped after this long without NPC voice sent (its echo has died away by then) */
  idleMs?: number;
  /**
   * After cancelling, an uplink frame this many dB or more below the loudest NPC frame sent to the player in
   * the last second carries no talker of its own (a player at their mic is not that far below their speakers'
   * echo) and is attenuated by `residualDb`: what a client's canceller left over, which voice detectors still
   * take for speech.
   */
  residualBelowDb?: number;
  residualDb?: number;
  /** the process's cap on running cancellers (none: no cap) */
  slots?: EchoGateSlots;
}

export class PlayerEchoGate {
  private aec: EchoCanceller | null = null;
  private readonly pending = new Float32Array(FRAME_SAMPLES);
  private pendingActive = false;
  private quietFrames = 0;
  private readonly idleFrames: number;
  private readonly out = new Float32Array(FRAME_SAMPLES);
  private lastStats: EchoCancellerStats | null = null;
  private readonly sentPow: number[] = []; // mean square of what was sent, last second of ticks
  private gain = 1;
  /** set when the canceller failed: the gate then passes the uplink through (a player's voice is never lost) */
  failed: Error | null = null;

  constructor(
    private readonly wasm: WebAssembly.Module = speexModule(),
    private readonly options: EchoGateOptions = {},
  ) {
    this.idleFrames = Math.ceil((options.idleMs ?? 3000) / ((FRAME_SAMPLES / SAMPLE_RATE) * 1000));
  }

  /** An NPC frame sent to this player this tick, at the gain the player's speakers give it. */
  sent(frame: Float32Array, gain = 1): void {
    if (frame.length !== FRAME_SAMPLES || !(gain > 0)) return;
    for (let i = 0; i < FRAME_SAMPLES; i++) this.pending[i] += gain * frame[i]!;
    this.pendingActive = true;
  }

  /**
   * The player's uplink frame for this tick (called once per tick, silence included, to keep the clock).
   * Returns the frame with the NPC echo removed: a buffer of the gate's, valid until the next call.
   */
  filter(uplink: Float32Array): Float32Array {
    if (this.failed) return uplink;
    try {
      return this.cancel(uplink);
    } catch (err) {
      this.failed = err as Error;
      this.release();
      return uplink;
    }
  }

  private cancel(uplink: Float32Array): Float32Array {
    if (uplink.length !== FRAME_SAMPLES) throw new Error(`echo gate: uplink frame of ${uplink.length} samples, expected ${FRAME_SAMPLES}`);
    const active = this.pendingActive;
    this.quietFrames = active ? 0 : this.quietFrames + 1;
    // no free slot: this frame passes uncancelled, and the next asks again
    if (active && !this.aec && (this.options.slots?.take() ?? true)) {
      try {
        this.aec = new EchoCanceller(this.wasm, { maxDelayMs: this.options.maxDelayMs ?? 1200, tailMs: this.options.tailMs ?? 200 });
      } catch (err) {
        this.options.slots?.give();
        throw err;
      }
    }
    if (this.aec && this.quietFrames > this.idleFrames) {
      this.lastStats = { ...this.aec.stats };
      this.release();
    }
    if (!this.aec) {
      this.resetPending();
      return uplink;
    }
    this.aec.pushReference(this.pending);
    this.sentPow.push(meanSquare(this.pending));
    if (this.sentPow.length > 13) this.sentPow.shift();
    this.resetPending();
    this.out.set(uplink.subarray(0, FRAME_SAMPLES));
    const out = this.aec.process(this.out);
    // Residual gate: ramp the gain across the frame so it never clicks.
    const below = 10 ** (-(this.options.residualBelowDb ?? 15) / 10);
    const target = meanSquare(out) < Math.max(...this.sentPow) * below ? 10 ** ((this.options.residualDb ?? -30) / 20) : 1;
    const step = (target - this.gain) / FRAME_SAMPLES;
    for (let i = 0; i < FRAME_SAMPLES; i++) out[i]! *= this.gain + step * i;
    this.gain = target;
    return out;
  }

  /** The canceller goes, and its slot with it. */
  private release(): void {
    if (!this.aec) return;
    const aec = this.aec;
    this.aec = null;
    this.options.slots?.give();
    try {
      aec.dispose();
    } catch {
      // a canceller that failed may not free cleanly; it is dropped either way
    }
  }

  private resetPending(): void {
    if (this.pendingActive) this.pending.fill(0);
    this.pendingActive = false;
  }

  /** Whether a canceller runs now, and its figures (or the last one's). */
  get stats(): { running: boolean } & Partial<EchoCancellerStats> {
    return { running: this.aec !== null, ...(this.aec?.stats ?? this.lastStats ?? {}) };
  }

  dispose(): void {
    this.release();
  }
}
