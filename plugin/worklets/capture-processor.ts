/**
 * Capture worklet: mic at the context rate (44.1 or 48 kHz) → band-limited resampling to 24 kHz → 80 ms frames
 * with sequence numbers and capture times → echo cancellation against the audio engine's output (second input,
 * when enabled) → posted (transferred) to the main thread for encoding.
 */
import { CaptureEcho, EchoFailure } from '../aec/capture-echo.ts';
import { Framer } from '../dsp/framer.ts';
import { rms } from '../dsp/pcm16.ts';
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { CAPTURE_PROCESSOR, type CaptureControlMsg, type CaptureEchoErrorMsg, type CaptureFrameMsg, type CaptureProcessorOptions } from './messages.ts';
import { scope, type WorkletProcessor } from './scope.ts';

class CaptureProcessor extends scope.AudioWorkletProcessor implements WorkletProcessor {
  private readonly resampler: Resampler;
  private readonly framer: Framer;
  private readonly targetRate: number;
  private inCount = 0;
  private outCount = 0;
  private stopped = false;
  private echo: CaptureEcho | null = null;

  constructor(options: { processorOptions?: unknown }) {
    super();
    const o = (options.processorOptions ?? {}) as Partial<CaptureProcessorOptions>;
    this.targetRate = o.targetRate ?? 24_000;
    this.resampler = new Resampler(scope.sampleRate, this.targetRate);
    if (o.aecWasm) {
      try {
        this.echo = new CaptureEcho(o.aecWasm, scope.sampleRate, this.targetRate);
      } catch (err) {
        this.echoFailed(err); // the mic keeps working without it
      }
    }
    this.framer = new Framer(
      (frame) => {
        const msg: CaptureFrameMsg = { type: 'frame', seq: frame.seq, t: frame.t, samples: frame.samples, rms: rms(frame.samples) };
        // Blocks line up with frames, so the blocks cancelled since the last frame are this frame's.
        if (this.echo) msg.echo = this.echo.takeFrameStats();
        this.port.postMessage(msg, [frame.samples.buffer]);
      },
      o.frameSamples ?? 1920,
      this.targetRate,
    );
    this.port.onmessage = (e: MessageEvent<CaptureControlMsg>) => {
      if (e.data?.type === 'reset') {
        this.echo?.discardPending();
        this.framer.discardPartial();
      } else if (e.data?.type === 'stop') {
        this.stopped = true;
        this.echo?.dispose();
      }
    };
  }

  private echoFailed(err: unknown): void {
    this.echo = null;
    const msg: CaptureEchoErrorMsg = { type: 'echo-error', message: `echo cancellation stopped: ${(err as Error)?.message ?? String(err)}` };
    this.port.postMessage(msg);
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.stopped) return false;
    const mono = inputs[0]?.[0];
    if (!mono || mono.length === 0) return true; // no input connected this quantum
    // Output sample k sits at input position k × step; its time follows from where this block started.
    const firstOutAt = this.outCount * this.resampler.step - this.inCount; // input samples from this block's start
    const t = (scope.currentTime + firstOutAt / scope.sampleRate) * 1000;
    const out = this.resampler.process(mono);
    // The reference resamples the same quantum with an identical resampler: its samples line up with `out`.
    this.echo?.reference(inputs[1], mono.length);
    this.inCount += mono.length;
    this.outCount += out.length;
    if (!out.length) return true;
    const echo = this.echo;
    if (!echo) {
      this.framer.push(out, t);
      return true;
    }
    // The cancelled samples start where the block they complete began: that many held samples earlier.
    const tClean = t - (echo.pending * 1000) / this.targetRate;
    try {
      this.framer.push(echo.cancel(out), tClean);
    } catch (err) {
      this.echoFailed(err); // the mic keeps working without it
      this.framer.push(err instanceof EchoFailure ? err.samples : out, err instanceof EchoFailure ? tClean : t);
    }
    return true;
  }
}

scope.registerProcessor(CAPTURE_PROCESSOR, CaptureProcessor);
