/**
 * Frame-by-frame Mimi, in one of two ways depending on the export:
 *
 * - **Streaming graphs** (export/mimi_streaming.py: `waveform [B,1,1920]` or `codes [B,8,1]` plus `state_in.*`
 *   → `state_out.*`): Mimi as the reference streams it. Each session carries its state (convolution contexts,
 *   transformer KV over 249 steps); zeros are a fresh stream, as the reference's `reset_streaming()` before
 *   the live phase. The batched state stays in the last run's output tensors while the batch keeps its
 *   sessions in the same order; a change of sessions rebuilds it row by row (`StreamRunner`).
 * - **Whole-utterance graphs** (the mobius export, no exposed state), an approximation: as mobius'
 *   StreamingMimiEncoder/Decoder, each session keeps the last `window` frames, the graph re-runs on that
 *   window, and only the newest frame's result is kept. The transformers then see 2·window steps instead of
 *   249 and the convolutions restart at the window's edge (docs/personaplex-onnx.md §7 measures the gap).
 *   Encoder windows start as silence (zeros); decoder windows start as SILENCE_TOKENS, the agent tokens of
 *   the prompt's last frames.
 *
 * Either way all sessions of a step share one run per graph. The windows below hold each session's input in
 * both cases (the streaming path reads their newest frame) and its streaming state.
 */
import * as ort from 'onnxruntime-node';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { MIMI_CODEBOOKS, SILENCE_TOKENS } from './constants.ts';
import { OnnxType, int64s, model, node, valueInfo } from './post-graphs.ts';

export const DEFAULT_MIMI_WINDOW = 8;

export class EncoderWindow {
  readonly buf: Float32Array;
  /** the streaming encoder's state (unused with whole-utterance graphs) */
  state = new MimiState();
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
    c.state = this.state.clone();
    return c;
  }
}

export class DecoderWindow {
  /** [8][frames] codebook-major, as the graph reads it (int32 here; widened to int64 into the batch input) */
  readonly codes: Int32Array;
  /** the streaming decoder's state (unused with whole-utterance graphs) */
  state = new MimiState();
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
    c.state = this.state.clone();
    return c;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Streaming graphs

type StateArray = Float32Array | BigInt64Array;

/** One state tensor of a streaming graph: `state_in.<name>` → `state_out.<name>`, [B, ...dims]. */
export interface StateSpec {
  name: string;
  type: 'float32' | 'int64';
  dims: number[];
  /** values per batch row */
  size: number;
}

const specCache = new WeakMap<ort.InferenceSession, StateSpec[] | null>();

/**
 * The state tensors of a streaming Mimi graph, read from its inputs (`state_in.*`, each with a `state_out.*`
 * of the same type and shape); null for a whole-utterance graph (no `state_in.*`).
 */
export function streamingSpecs(session: ort.InferenceSession): StateSpec[] | null {
  const cached = specCache.get(session);
  if (cached !== undefined) return cached;
  const outs = new Map<string, ort.InferenceSession.ValueMetadata>();
  for (const m of session.outputMetadata) outs.set(m.name, m);
  const specs: StateSpec[] = [];
  for (const m of session.inputMetadata) {
    if (!m.name.startsWith('state_in.')) continue;
    const name = m.name.slice('state_in.'.length);
    const out = outs.get(`state_out.${name}`);
    if (!m.isTensor || !out?.isTensor) throw new Error(`streaming Mimi graph: '${m.name}' has no tensor output 'state_out.${name}'`);
    if (m.type !== out.type || (m.type !== 'float32' && m.type !== 'int64')) {
      throw new Error(`streaming Mimi graph: '${m.name}' is ${m.type} and its output ${out.type} (float32 or int64 expected, the same)`);
    }
    const dims = m.shape.slice(1);
    if (!dims.every((d): d is number => typeof d === 'number') || out.shape.length !== m.shape.length) {
      throw new Error(`streaming Mimi graph: '${m.name}' must have fixed sizes after the batch axis`);
    }
    specs.push({ name, type: m.type, dims, size: dims.reduce((a, b) => a * b, 1) });
  }
  const result = specs.length ? specs : null;
  specCache.set(session, result);
  return result;
}

/**
 * One session's streaming state for one graph. It lives either in a StreamRunner's batch (row `row` of the
 * last run's outputs) or in its own arrays; neither means a fresh stream (zeros).
 */
export class MimiState {
  /** own copy, one array per StateSpec (null: fresh, or in the batch) */
  data: StateArray[] | null = null;
  home: StreamRunner | null = null;
  row = -1;

  /** An independent copy that continues from the same point (e.g. for a forked session). */
  clone(): MimiState {
    const c = new MimiState();
    const home = this.home;
    if (home && home.rows[this.row] === this) c.data = home.copyRow(this.row);
    else if (this.data) c.data = this.data.map((a) => a.slice());
    return c;
  }
}

function zeros(spec: StateSpec, n: number): StateArray {
  return spec.type === 'int64' ? new BigInt64Array(n) : new Float32Array(n);
}

/**
 * Runs one streaming graph for a batch of sessions and keeps their state. While the batch holds the same
 * sessions in the same order, the last run's `state_out` tensors are fed back as they are (no copy); when
 * the sessions change, the batched state is rebuilt row by row, and sessions that left get their rows back
 * as their own copy.
 */
export class StreamRunner {
  /** sessions of the batched state, by row */
  rows: MimiState[] = [];
  private cur: ort.Tensor[] | null = null;
  private readonly feeds: Record<string, ort.Tensor> = {};
  private readonly fetches: string[];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly specs: StateSpec[],
    private readonly output: string,
  ) {
    this.fetches = [output, ...specs.map((s) => `state_out.${s.name}`)];
  }

  copyRow(row: number): StateArray[] {
    if (!this.cur) throw new Error('internal: no batched Mimi state');
    return this.specs.map((s, i) => (this.cur![i]!.data as StateArray).slice(row * s.size, (row + 1) * s.size));
  }

  /** Runs the graph on `input` (the frame's waveform or codes, [B, …]) with states[0 .. B); returns the output. */
  async run(inputName: string, input: ort.Tensor, states: readonly MimiState[], B: number): Promise<ort.Tensor> {
    if (!this.sameRows(states, B)) this.rebuild(states, B);
    const feeds = this.feeds;
    feeds[inputName] = input;
    for (let i = 0; i < this.specs.length; i++) feeds[`state_in.${this.specs[i]!.name}`] = this.cur![i]!;
    const r = await this.session.run(feeds, this.fetches);
    for (let i = 0; i < this.specs.length; i++) this.cur![i] = r[`state_out.${this.specs[i]!.name}`]!;
    return r[this.output]!;
  }

  private sameRows(states: readonly MimiState[], B: number): boolean {
    if (!this.cur || this.rows.length !== B) return false;
    for (let b = 0; b < B; b++) if (this.rows[b] !== states[b] || states[b]!.home !== this) return false;
    return true;
  }

  private rebuild(states: readonly MimiState[], B: number) {
    const next = new Set(states.slice(0, B));
    // Sessions leaving the batch keep their state as their own copy.
    this.rows.forEach((st, row) => {
      if (!next.has(st) && st.home === this && st.row === row) {
        st.data = this.copyRow(row);
        st.home = null;
        st.row = -1;
      }
    });
    const arrays = this.specs.map((s) => zeros(s, B * s.size));
    for (let b = 0; b < B; b++) {
      const st = states[b]!;
      // From its row in a batch (this one, or another runner's, e.g. after the engine grew its MimiBatch).
      const src = st.home && st.home.rows[st.row] === st ? st.home.copyRow(st.row) : st.data;
      if (src) this.specs.forEach((s, i) => (arrays[i] as Float32Array).set(src[i] as Float32Array, b * s.size));
    }
    for (let b = 0; b < B; b++) {
      const st = states[b]!;
      st.home = this;
      st.row = b;
      st.data = null;
    }
    this.cur = this.specs.map((s, i) => new ort.Tensor(s.type, arrays[i]!, [B, ...s.dims]));
    this.rows = states.slice(0, B);
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
  /** streaming graphs: one runner per graph, and the one-frame inputs per batch size */
  private readonly runners = new Map<ort.InferenceSession, StreamRunner>();
  private readonly frameTensors = new Map<number, ort.Tensor>();
  private readonly frameCodeTensors = new Map<number, ort.Tensor>();

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
    const runner = this.runner(session, 'codes');
    if (runner) return this.encodeStreaming(runner, windows, B, into);
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
    const runner = this.runner(session, 'waveform');
    if (runner) return this.decodeStreaming(runner, windows, B, into);
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

  /** The streaming runner of a graph, or undefined for a whole-utterance graph. */
  private runner(session: ort.InferenceSession, output: string): StreamRunner | undefined {
    let r = this.runners.get(session);
    if (!r) {
      const specs = streamingSpecs(session);
      if (!specs) return undefined;
      this.runners.set(session, (r = new StreamRunner(session, specs, output)));
    }
    return r;
  }

  private states: MimiState[] = [];

  private async encodeStreaming(runner: StreamRunner, windows: readonly EncoderWindow[], B: number, into: readonly Int32Array[]) {
    const states = this.states;
    for (let b = 0; b < B; b++) {
      const buf = windows[b]!.buf;
      this.wave.set(buf.subarray(buf.length - FRAME_SAMPLES), b * FRAME_SAMPLES);
      states[b] = windows[b]!.state;
    }
    let input = this.frameTensors.get(B);
    if (!input) this.frameTensors.set(B, (input = new ort.Tensor('float32', this.wave.subarray(0, B * FRAME_SAMPLES), [B, 1, FRAME_SAMPLES])));
    const codes = await runner.run('waveform', input, states, B);
    const data = codes.data as BigInt64Array;
    const low = new Int32Array(data.buffer, data.byteOffset, 2 * data.length);
    for (let b = 0; b < B; b++) {
      const row = into[b]!;
      for (let q = 0; q < MIMI_CODEBOOKS; q++) row[q] = low[2 * (b * MIMI_CODEBOOKS + q)]!;
    }
  }

  private async decodeStreaming(runner: StreamRunner, windows: readonly DecoderWindow[], B: number, into: Float32Array[]) {
    const states = this.states;
    for (let b = 0; b < B; b++) {
      const w = windows[b]!;
      // The newest frame is the last column of the codebook-major window.
      for (let q = 0; q < MIMI_CODEBOOKS; q++) {
        this.codes32[2 * (b * MIMI_CODEBOOKS + q)] = w.codes[(q + 1) * w.frames - 1]!;
        this.codes32[2 * (b * MIMI_CODEBOOKS + q) + 1] = 0;
      }
      states[b] = w.state;
    }
    let input = this.frameCodeTensors.get(B);
    if (!input) this.frameCodeTensors.set(B, (input = new ort.Tensor('int64', this.codes.subarray(0, B * MIMI_CODEBOOKS), [B, MIMI_CODEBOOKS, 1])));
    let wave = await runner.run('codes', input, states, B);
    if (this.tail) {
      this.tailFeeds.waveform = wave;
      wave = (await this.tail.run(this.tailFeeds)).frame!;
      if (this.tailFeeds.waveform.location === 'gpu-buffer') this.tailFeeds.waveform.dispose();
      this.tailFeeds.waveform = undefined as never;
    }
    const data = wave.data as Float32Array;
    for (let b = 0; b < B; b++) into[b] = data.slice(b * FRAME_SAMPLES, (b + 1) * FRAME_SAMPLES);
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
 * Encodes a clip (a WAV voice prompt): one row of 8 codes per frame, the last partial frame zero-padded as
 * the reference does (`_iterate_audio(..., pad=True)`). With streaming graphs the clip streams frame by frame
 * from a fresh state, as the reference encodes a voice prompt; a whole-utterance graph encodes it at once
 * (full attention over the clip: an approximation).
 */
export async function encodeClip(session: ort.InferenceSession, pcm: Float32Array): Promise<Int32Array[]> {
  const frames = Math.ceil(pcm.length / FRAME_SAMPLES);
  if (frames === 0) return [];
  const n = frames * FRAME_SAMPLES;
  const padded = new Float32Array(n);
  padded.set(pcm);
  const specs = streamingSpecs(session);
  if (specs) {
    const runner = new StreamRunner(session, specs, 'codes');
    const state = [new MimiState()];
    const out: Int32Array[] = [];
    for (let t = 0; t < frames; t++) {
      const frame = new ort.Tensor('float32', padded.subarray(t * FRAME_SAMPLES, (t + 1) * FRAME_SAMPLES), [1, 1, FRAME_SAMPLES]);
      const codes = (await runner.run('waveform', frame, state, 1)).data as BigInt64Array;
      out.push(Int32Array.from(codes, Number));
    }
    return out;
  }
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
