/**
 * Frame-by-frame Mimi on whole-utterance graphs. The mobius Mimi export has no exposed streaming state, but
 * its convolutions are causal, so (as mobius' StreamingMimiEncoder/Decoder do) each session keeps the last
 * `window` frames, the graph re-runs on that window, and only the newest frame's result is kept. All sessions
 * of a step share one run: the windows are stacked into one [B, …] batch.
 *
 * Encoder windows start as silence (zeros). Decoder windows start as SILENCE_TOKENS, the agent tokens of the
 * prompt's last frames, so the first decoded frames have the left context the model itself produced.
 */
import * as ort from 'onnxruntime-node';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { MIMI_CODEBOOKS, SILENCE_TOKENS } from './constants.ts';
import { OnnxType, int64s, model, node, valueInfo } from './post-graphs.ts';

export const DEFAULT_MIMI_WINDOW = 8;

export class EncoderWindow {
  readonly buf: Float32Array;
  constructor(readonly frames: number) {
    this.buf = new Float32Array(frames * FRAME_SAMPLES);
  }
  push(frame: Float32Array) {
    this.buf.copyWithin(0, FRAME_SAMPLES);
    this.buf.set(frame.length === FRAME_SAMPLES ? frame : frame.subarray(0, FRAME_SAMPLES), this.buf.length - FRAME_SAMPLES);
  }
  clone() {
    const c = new EncoderWindow(this.frames);
    c.buf.set(this.buf);
    return c;
  }
}

export class DecoderWindow {
  /** [8][frames] codebook-major, as the graph reads it (int32 here; widened to int64 into the batch input) */
  readonly codes: Int32Array;
  constructor(readonly frames: number) {
    this.codes = new Int32Array(MIMI_CODEBOOKS * frames);
    for (let q = 0; q < MIMI_CODEBOOKS; q++) this.codes.fill(SILENCE_TOKENS[q]!, q * frames, (q + 1) * frames);
  }
  /** Appends the 8 agent codes agent[from .. from + 8) as the newest frame. */
  push(agent: ArrayLike<number>, from = 0) {
    const W = this.frames;
    for (let q = 0; q < MIMI_CODEBOOKS; q++) {
      this.codes.copyWithin(q * W, q * W + 1, (q + 1) * W);
      this.codes[(q + 1) * W - 1] = agent[from + q]!;
    }
  }
  clone() {
    const c = new DecoderWindow(this.frames);
    c.codes.set(this.codes);
    return c;
  }
}

/**
 * The batched Mimi inputs of the step path, sized once for a capacity and reused every tick: the stacked
 * encoder windows and decoder codes, and one input tensor per batch size over a view of them. What stays new
 * per tick is ORT's (its output buffers and their Tensor objects) and the decoded frames handed to the room.
 */
/**
 * The decoder's newest frame, cut on the provider: `waveform [B, 1, T]` → `frame [B, 1, 1920]`. On WebGPU the
 * decoder's output stays on the device and only this comes back: 7.5 KiB per session per tick instead of the
 * whole window (8 frames, 60 KiB).
 */
export function lastFrameGraph(): Uint8Array {
  return model('parley_mimi_last_frame', {
    node: [node('Slice', ['waveform', 'starts', 'ends', 'axes'], ['frame'])],
    initializer: [int64s('starts', [-FRAME_SAMPLES]), int64s('ends', [2 ** 53]), int64s('axes', [2])],
    input: [valueInfo('waveform', OnnxType.FLOAT, ['batch', 1, 'num_samples'])],
    output: [valueInfo('frame', OnnxType.FLOAT, ['batch', 1, FRAME_SAMPLES])],
  });
}

export class MimiBatch {
  private readonly wave: Float32Array;
  /** int64 codes written through an int32 view (low word, high word 0): no BigInt per value */
  private readonly codes: BigInt64Array;
  private readonly codes32: Int32Array;
  private readonly waveTensors = new Map<number, ort.Tensor>();
  private readonly codeTensors = new Map<number, ort.Tensor>();
  private readonly encFeeds: Record<string, ort.Tensor> = {};
  private readonly decFeeds: Record<string, ort.Tensor> = {};
  private readonly tailFeeds: Record<string, ort.Tensor> = {};

  constructor(
    readonly capacity: number,
    readonly window: number,
    /** lastFrameGraph's session on the decoder's provider, when the decoder's output stays there */
    private readonly tail?: ort.InferenceSession,
  ) {
    this.wave = new Float32Array(capacity * window * FRAME_SAMPLES);
    this.codes = new BigInt64Array(capacity * MIMI_CODEBOOKS * window);
    this.codes32 = new Int32Array(this.codes.buffer);
  }

  /** Encodes the newest frame of windows[0 .. B): row b's 8 codes into `into[b]`. */
  async encode(session: ort.InferenceSession, windows: readonly EncoderWindow[], B: number, into: readonly Int32Array[]): Promise<void> {
    if (B === 0) return;
    const n = this.window * FRAME_SAMPLES;
    for (let b = 0; b < B; b++) this.wave.set(windows[b]!.buf, b * n);
    let input = this.waveTensors.get(B);
    if (!input) this.waveTensors.set(B, (input = new ort.Tensor('float32', this.wave.subarray(0, B * n), [B, 1, n])));
    this.encFeeds.waveform = input;
    const r = await session.run(this.encFeeds);
    const codes = r.codes!;
    const Tf = codes.dims[2]!;
    const data = codes.data as BigInt64Array;
    // Codes are 0..2047: the low word of each little-endian int64 is the value (one view per run, no BigInts).
    const low = new Int32Array(data.buffer, data.byteOffset, 2 * data.length);
    for (let b = 0; b < B; b++) {
      const row = into[b]!;
      for (let q = 0; q < MIMI_CODEBOOKS; q++) row[q] = low[2 * ((b * MIMI_CODEBOOKS + q) * Tf + Tf - 1)]!;
    }
  }

  /** Decodes the newest frame of windows[0 .. B): a new 1920-sample frame per row into `into[b]` (handed out). */
  async decode(session: ort.InferenceSession, windows: readonly DecoderWindow[], B: number, into: Float32Array[]): Promise<void> {
    if (B === 0) return;
    const W = this.window;
    const per = MIMI_CODEBOOKS * W;
    for (let b = 0; b < B; b++) {
      const src = windows[b]!.codes;
      const dst = 2 * b * per;
      for (let i = 0; i < per; i++) {
        this.codes32[dst + 2 * i] = src[i]!;
        this.codes32[dst + 2 * i + 1] = 0;
      }
    }
    let input = this.codeTensors.get(B);
    if (!input) this.codeTensors.set(B, (input = new ort.Tensor('int64', this.codes.subarray(0, B * per), [B, MIMI_CODEBOOKS, W])));
    this.decFeeds.codes = input;
    const r = await session.run(this.decFeeds);
    let wave = r.waveform!;
    if (this.tail) {
      this.tailFeeds.waveform = wave;
      wave = (await this.tail.run(this.tailFeeds)).frame!;
      if (this.tailFeeds.waveform.location === 'gpu-buffer') this.tailFeeds.waveform.dispose();
      this.tailFeeds.waveform = undefined as never;
    }
    const T = wave.dims[2]!;
    const data = wave.data as Float32Array;
    for (let b = 0; b < B; b++) into[b] = data.slice(b * T + T - FRAME_SAMPLES, b * T + T);
  }
}

/** Encodes the newest frame of each window: returns B rows of 8 codes (one-off use; the step path uses MimiBatch). */
export async function encodeLatest(session: ort.InferenceSession, windows: EncoderWindow[]): Promise<Int32Array[]> {
  const rows = windows.map(() => new Int32Array(MIMI_CODEBOOKS));
  if (windows.length) await new MimiBatch(windows.length, windows[0]!.frames).encode(session, windows, windows.length, rows);
  return rows;
}

/** Decodes the newest frame of each window: returns B frames of 1920 samples (one-off use; see MimiBatch). */
export async function decodeLatest(session: ort.InferenceSession, windows: DecoderWindow[]): Promise<Float32Array[]> {
  const out: Float32Array[] = new Array(windows.length);
  if (windows.length) await new MimiBatch(windows.length, windows[0]!.frames).decode(session, windows, windows.length, out);
  return out;
}

/**
 * Encodes a whole clip (a WAV voice prompt) at once: one row of 8 codes per frame, the last partial frame
 * zero-padded as the reference does (`_iterate_audio(..., pad=True)`).
 */
export async function encodeClip(session: ort.InferenceSession, pcm: Float32Array): Promise<Int32Array[]> {
  const frames = Math.ceil(pcm.length / FRAME_SAMPLES);
  if (frames === 0) return [];
  const n = frames * FRAME_SAMPLES;
  const padded = new Float32Array(n);
  padded.set(pcm);
  const r = await session.run({ waveform: new ort.Tensor('float32', padded, [1, 1, n]) });
  const codes = r.codes!;
  const Tf = codes.dims[2]!;
  const data = codes.data as BigInt64Array;
  const out: Int32Array[] = [];
  for (let t = 0; t < Tf; t++) {
    const row = new Int32Array(MIMI_CODEBOOKS);
    for (let q = 0; q < MIMI_CODEBOOKS; q++) row[q] = Number(data[q * Tf + t]!);
    out.push(row);
  }
  return out;
}
