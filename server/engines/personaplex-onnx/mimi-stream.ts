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

export const DEFAULT_MIMI_WINDOW = 8;

export class EncoderWindow {
  readonly buf: Float32Array;
  constructor(readonly frames: number) {
    this.buf = new Float32Array(frames * FRAME_SAMPLES);
  }
  push(frame: Float32Array) {
    this.buf.copyWithin(0, FRAME_SAMPLES);
    this.buf.set(frame.subarray(0, FRAME_SAMPLES), this.buf.length - FRAME_SAMPLES);
  }
  clone() {
    const c = new EncoderWindow(this.frames);
    c.buf.set(this.buf);
    return c;
  }
}

export class DecoderWindow {
  /** [8][frames] codebook-major, as the graph reads it */
  readonly codes: BigInt64Array;
  constructor(readonly frames: number) {
    this.codes = new BigInt64Array(MIMI_CODEBOOKS * frames);
    for (let q = 0; q < MIMI_CODEBOOKS; q++) this.codes.fill(BigInt(SILENCE_TOKENS[q]!), q * frames, (q + 1) * frames);
  }
  push(agent: ArrayLike<number>) {
    const W = this.frames;
    for (let q = 0; q < MIMI_CODEBOOKS; q++) {
      this.codes.copyWithin(q * W, q * W + 1, (q + 1) * W);
      this.codes[(q + 1) * W - 1] = BigInt(agent[q]!);
    }
  }
  clone() {
    const c = new DecoderWindow(this.frames);
    c.codes.set(this.codes);
    return c;
  }
}

/** Encodes the newest frame of each window: returns B rows of 8 codes. */
export async function encodeLatest(session: ort.InferenceSession, windows: EncoderWindow[]): Promise<Int32Array[]> {
  if (windows.length === 0) return [];
  const W = windows[0]!.frames;
  const n = W * FRAME_SAMPLES;
  const wave = new Float32Array(windows.length * n);
  windows.forEach((w, b) => wave.set(w.buf, b * n));
  const r = await session.run({ waveform: new ort.Tensor('float32', wave, [windows.length, 1, n]) });
  const codes = r.codes!;
  const Tf = codes.dims[2]!;
  const data = codes.data as BigInt64Array;
  return windows.map((_, b) => {
    const row = new Int32Array(MIMI_CODEBOOKS);
    for (let q = 0; q < MIMI_CODEBOOKS; q++) row[q] = Number(data[(b * MIMI_CODEBOOKS + q) * Tf + Tf - 1]!);
    return row;
  });
}

/** Decodes the newest frame of each window: returns B frames of 1920 samples. */
export async function decodeLatest(session: ort.InferenceSession, windows: DecoderWindow[]): Promise<Float32Array[]> {
  if (windows.length === 0) return [];
  const W = windows[0]!.frames;
  const codes = new BigInt64Array(windows.length * MIMI_CODEBOOKS * W);
  windows.forEach((w, b) => codes.set(w.codes, b * MIMI_CODEBOOKS * W));
  const r = await session.run({ codes: new ort.Tensor('int64', codes, [windows.length, MIMI_CODEBOOKS, W]) });
  const wave = r.waveform!;
  const T = wave.dims[2]!;
  const data = wave.data as Float32Array;
  return windows.map((_, b) => new Float32Array(data.subarray(b * T + T - FRAME_SAMPLES, b * T + T)));
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
