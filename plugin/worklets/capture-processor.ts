/**
 * Capture worklet: mic at the context rate (44.1 or 48 kHz) → band-limited resampling to 24 kHz → 80 ms frames
 * with sequence numbers and capture times → posted (transferred) to the main thread for encoding.
 */
import { Framer } from '../dsp/framer.ts';
import { rms } from '../dsp/pcm16.ts';
import { Resampler } from '../../protocol/dsp/resampler.ts';
import { CAPTURE_PROCESSOR, type CaptureControlMsg, type CaptureFrameMsg, type CaptureProcessorOptions } from './messages.ts';
import { scope, type WorkletProcessor } from './scope.ts';

class CaptureProcessor extends scope.AudioWorkletProcessor implements WorkletProcessor {
  private readonly resampler: Resampler;
  private readonly framer: Framer;
  private readonly targetRate: number;
  private inCount = 0;
  private outCount = 0;
  private stopped = false;

  constructor(options: { processorOptions?: unknown }) {
    super();
    const o = (options.processorOptions ?? {}) as Partial<CaptureProcessorOptions>;
    this.targetRate = o.targetRate ?? 24_000;
    this.resampler = new Resampler(scope.sampleRate, this.targetRate);
    this.framer = new Framer(
      (frame) => {
        const msg: CaptureFrameMsg = { type: 'frame', seq: frame.seq, t: frame.t, samples: frame.samples, rms: rms(frame.samples) };
        this.port.postMessage(msg, [frame.samples.buffer]);
      },
      o.frameSamples ?? 1920,
      this.targetRate,
    );
    this.port.onmessage = (e: MessageEvent<CaptureControlMsg>) => {
      if (e.data?.type === 'reset') this.framer.discardPartial();
      else if (e.data?.type === 'stop') this.stopped = true;
    };
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.stopped) return false;
    const mono = inputs[0]?.[0];
    if (!mono || mono.length === 0) return true; // no input connected this quantum
    // Output sample k sits at input position k × step; its time follows from where this block started.
    const firstOutAt = this.outCount * this.resampler.step - this.inCount; // input samples from this block's start
    const t = (scope.currentTime + firstOutAt / scope.sampleRate) * 1000;
    const out = this.resampler.process(mono);
    this.inCount += mono.length;
    this.outCount += out.length;
    if (out.length) this.framer.push(out, t);
    return true;
  }
}

scope.registerProcessor(CAPTURE_PROCESSOR, CaptureProcessor);
