/**
 * The player's microphone: getUserMedia with the browser's echo cancellation, noise suppression and gain
 * control on, into the capture worklet, which posts 80 ms 24 kHz frames back here.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import {
  CAPTURE_PROCESSOR,
  type CaptureControlMsg,
  type CaptureEchoErrorMsg,
  type CaptureEchoStats,
  type CaptureFrameMsg,
  type CaptureProcessorOptions,
} from '../worklets/messages.ts';

export interface MicFrame {
  seq: number;
  /** capture time of the first sample, ms since the epoch (client clock) */
  t: number;
  samples: Float32Array;
  rms: number;
  /** the echo canceller's figures, when it runs */
  echo?: CaptureEchoStats;
}

/** Echo cancellation in the capture worklet: what the speakers play is cancelled from the mic. */
export interface MicEchoSetup {
  /** the echo canceller's WebAssembly bytes (plugin/aec/webrtc-aec3.wasm: WebRTC's AEC3) */
  wasm: ArrayBuffer;
  /** the node whose output the speakers play (the audio engine's output) */
  reference: AudioNode;
  /** the canceller failed; capture goes on without it */
  onError(err: Error): void;
  /**
   * Test-only: a simulated room. Gets the speakers' signal, returns a node whose output is added to the mic
   * (the page's own output through an echo path into the capture input).
   */
  testEchoPath?: (ctx: BaseAudioContext, speakers: AudioNode) => AudioNode;
}

export interface MicOptions {
  /** a specific input device */
  deviceId?: string;
  /** override the processing constraints (all true by default; turn them off only to measure) */
  echoCancellation?: boolean;
  noiseSuppression?: boolean;
  autoGainControl?: boolean;
  /** use this stream instead of asking for the microphone (e.g. a game's own voice-chat stream) */
  stream?: MediaStream;
}

export class MicCapture {
  private constructor(
    readonly stream: MediaStream,
    private readonly source: MediaStreamAudioSourceNode,
    private readonly node: AudioWorkletNode,
    private readonly ownsStream: boolean,
    private readonly unwire: () => void = () => {},
  ) {}

  /** Ask for the mic and start framing. The parley worklets must already be loaded into `ctx`. */
  static async start(ctx: AudioContext, onFrame: (f: MicFrame) => void, options: MicOptions = {}, echo?: MicEchoSetup): Promise<MicCapture> {
    let stream = options.stream;
    if (!stream) {
      if (!navigator.mediaDevices?.getUserMedia) {
        throw new Error('Parley: no microphone access here (getUserMedia needs a secure context, https or localhost)');
      }
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          ...(options.deviceId ? { deviceId: { exact: options.deviceId } } : {}),
          channelCount: 1,
          echoCancellation: options.echoCancellation ?? true,
          noiseSuppression: options.noiseSuppression ?? true,
          autoGainControl: options.autoGainControl ?? true,
        },
      });
    }
    const source = new MediaStreamAudioSourceNode(ctx, { mediaStream: stream });
    const processorOptions: CaptureProcessorOptions = { targetRate: SAMPLE_RATE, frameSamples: FRAME_SAMPLES, ...(echo ? { aecWasm: echo.wasm } : {}) };
    const node = new AudioWorkletNode(ctx, CAPTURE_PROCESSOR, {
      numberOfInputs: echo ? 2 : 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions,
    });
    node.port.onmessage = (e: MessageEvent<CaptureFrameMsg | CaptureEchoErrorMsg>) => {
      const m = e.data;
      if (m?.type === 'echo-error') return echo?.onError(new Error(`Parley: ${m.message}`));
      if (m?.type !== 'frame') return;
      // Context clock → client clock: the frame's age on the context clock, taken from now.
      const t = Date.now() - (ctx.currentTime * 1000 - m.t);
      onFrame({ seq: m.seq, t, samples: m.samples, rms: m.rms, ...(m.echo ? { echo: m.echo } : {}) });
    };
    source.connect(node);
    let unwire = () => {};
    if (echo) {
      // The second input: the speakers' signal, tapped on the same render clock as the mic (channels summed).
      echo.reference.connect(node, 0, 1);
      const room = echo.testEchoPath?.(ctx, echo.reference);
      room?.connect(node, 0, 0);
      unwire = () => {
        echo.reference.disconnect(node);
        room?.disconnect();
      };
    }
    return new MicCapture(stream, source, node, !options.stream, unwire);
  }

  /** Drop a partly filled frame (e.g. when sending resumes after a pause). */
  resetFrame(): void {
    const msg: CaptureControlMsg = { type: 'reset' };
    this.node.port.postMessage(msg);
  }

  /** Release the microphone and the worklet. */
  stop(): void {
    const msg: CaptureControlMsg = { type: 'stop' };
    this.node.port.postMessage(msg);
    this.node.port.onmessage = null;
    this.node.port.close();
    this.unwire();
    this.source.disconnect();
    this.node.disconnect();
    if (this.ownsStream) for (const track of this.stream.getTracks()) track.stop();
  }
}
