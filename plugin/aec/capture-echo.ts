/**
 * Echo cancellation as the capture worklet runs it. Each render quantum the worklet hands over what the audio
 * engine is playing right now (a tap of its output on the capture node's second input) and this resamples it to
 * 24 kHz with a resampler identical to the microphone's, so reference and mic samples share one index: the
 * context's sample clock, the clock the voices' samples-played positions are read on. What remains unknown —
 * output latency, the room, input latency — is the delay the canceller estimates. Each 80 ms frame is then
 * cancelled in place before it is posted.
 */
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { EchoCanceller, type EchoCancellerOptions } from './echo-canceller.ts';
import type { SpeexWasm } from './speex-aec.ts';

export class CaptureEcho {
  private readonly resampler: Resampler;
  private readonly canceller: EchoCanceller;
  private mono = new Float32Array(128);
  /** audio-thread ms spent in the canceller, summed, and frames processed (for the cost figure) */
  busyMs = 0;
  frames = 0;

  constructor(wasm: SpeexWasm, contextRate: number, targetRate: number, options: EchoCancellerOptions = {}) {
    this.resampler = new Resampler(contextRate, targetRate);
    this.canceller = new EchoCanceller(wasm, { ...options, sampleRate: targetRate });
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

  /** Cancel one captured frame in place. */
  frame(samples: Float32Array): void {
    const t0 = now();
    this.canceller.process(samples);
    this.busyMs += now() - t0;
    this.frames++;
  }

  /** Mic samples dropped without being cancelled (a discarded partial frame): keep the clocks together. */
  skip(samples: number): void {
    this.canceller.skip(samples);
  }

  get stats() {
    return this.canceller.stats;
  }

  dispose(): void {
    this.canceller.dispose();
  }
}

// AudioWorkletGlobalScope has no performance object in every browser; Date is coarse but always there.
const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
