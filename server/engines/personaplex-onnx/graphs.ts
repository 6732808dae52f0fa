/**
 * Loads the four graphs of a mobius PersonaPlex export (`mimi_encoder/`, `temporal/`, `depformer/`,
 * `mimi_decoder/`, each `model.onnx` plus optional external data; `<name>.onnx` also accepted), checks every
 * input and output the loop relies on (names, dtypes, ranks, fixed dims), reads the geometry (layers, heads,
 * head size, hidden size, vocabularies) from the graphs themselves, and opens them on the requested execution
 * provider, falling back to the CPU with a log line when that provider cannot load.
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AUDIO_CARD, GRAPH_NAMES, MIMI_CODEBOOKS, NUM_STREAMS, type GraphName } from './constants.ts';
import { streamingSpecs } from './mimi-stream.ts';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { silentLogger, type Logger } from '../../log.ts';

export type Provider = 'cpu' | 'cuda' | 'webgpu' | 'tensorrt';

export interface LoadOptions {
  modelDir: string;
  /** providers to try in order; the CPU is always the last resort */
  providers?: Provider[];
  deviceId?: number;
  intraOpNumThreads?: number;
  /** read every weight file once before opening, so loading reports byte progress (default true) */
  prefetch?: boolean;
  onProgress?: (p: { phase: string; fraction: number; detail?: string }) => void;
  log?: Logger;
  /**
   * On WebGPU, also keep the LM's logits (temporal `text_logits`, depformer `logits`) on the device as
   * gpu-buffer outputs, for the device-side top-k (device-top-k.ts). Default false.
   */
  gpuLogits?: boolean;
  /**
   * On WebGPU, also keep the outputs the step post-processes on the device: the temporal `hidden` (it only feeds
   * the depformer) and the Mimi decoder's `waveform` (its last frame is cut there; mimi-stream.ts). The engine
   * sets it; one-off users (the verify CLI) read those outputs and leave it off.
   */
  gpuStepOutputs?: boolean;
  /** may replace a graph's file before it is opened (the engine extends the temporal rotary tables) */
  prepare?: (name: GraphName, file: string) => Promise<string>;
}

export type KvType = 'float32' | 'float16';

export interface Geometry {
  temporalLayers: number;
  temporalHeads: number;
  temporalHeadDim: number;
  temporalHidden: number;
  textVocab: number;
  temporalKvType: KvType;
  /** whether the temporal graph reads position_ids (GQA builds prune it) */
  hasPositionIds: boolean;
  depLayers: number;
  depHeads: number;
  depHeadDim: number;
  depKvType: KvType;
  hiddenType: KvType;
  audioVocab: number;
  /** dtypes of the temporal `text_logits` and the depformer `logits` */
  textLogitsType: KvType;
  audioLogitsType: KvType;
}

export interface LoadedGraphs {
  sessions: Record<GraphName, ort.InferenceSession>;
  geometry: Geometry;
  provider: Provider;
  /** streaming Mimi graphs (state in and out, as the reference streams) or whole-utterance ones (windowed) */
  mimiLayout: MimiLayout;
  dispose(): Promise<void>;
}

export type MimiLayout = 'streaming' | 'windowed';

/** Streaming when both Mimi graphs carry state (`state_in.*`, mimi-stream.ts); one without the other is an error. */
export function mimiLayout(s: Record<GraphName, ort.InferenceSession>): MimiLayout {
  const enc = streamingSpecs(s.mimi_encoder);
  const dec = streamingSpecs(s.mimi_decoder);
  if (!!enc !== !!dec) throw new Error(`PersonaPlex Mimi graphs: the ${enc ? 'encoder' : 'decoder'} streams (state_in.*) but the ${enc ? 'decoder' : 'encoder'} does not; export both with the same tool`);
  if (enc) {
    const e = s.mimi_encoder.inputMetadata.find((m) => m.name === 'waveform');
    const d = s.mimi_decoder.inputMetadata.find((m) => m.name === 'codes');
    if (e?.isTensor && e.shape[2] !== FRAME_SAMPLES) throw new Error(`PersonaPlex streaming Mimi encoder takes ${String(e.shape[2])} samples per run, expected ${FRAME_SAMPLES}`);
    if (d?.isTensor && d.shape[2] !== 1) throw new Error(`PersonaPlex streaming Mimi decoder takes ${String(d.shape[2])} frames per run, expected 1`);
  }
  return enc ? 'streaming' : 'windowed';
}

type Meta = ort.InferenceSession.ValueMetadata;

/** Where a graph's model file lives: `<dir>/<name>/model.onnx`, else `<dir>/<name>.onnx`. */
export async function graphFile(modelDir: string, name: GraphName): Promise<string> {
  const nested = path.join(modelDir, name, 'model.onnx');
  const flat = path.join(modelDir, `${name}.onnx`);
  for (const f of [nested, flat]) {
    try {
      if ((await stat(f)).isFile()) return f;
    } catch {
      // try the next spelling
    }
  }
  throw new Error(`PersonaPlex model folder ${modelDir}: graph '${name}' is missing (looked for ${nested} and ${flat})`);
}

/** The graph file and every other file in its folder (external data). */
async function weightFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  if (path.basename(file) !== 'model.onnx') return [file];
  const names = await readdir(dir);
  return names.map((n) => path.join(dir, n));
}

async function prefetch(files: string[], onProgress: LoadOptions['onProgress']) {
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  let done = 0;
  const buf = Buffer.allocUnsafe(64 << 20);
  for (const f of files) {
    const fh = await open(f, 'r');
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        done += bytesRead;
        onProgress?.({ phase: 'reading weights', fraction: done / total, detail: `${(done / 2 ** 30).toFixed(2)} / ${(total / 2 ** 30).toFixed(2)} GiB` });
      }
    } finally {
      await fh.close();
    }
  }
}

export function sessionOptions(provider: Provider, opts: Pick<LoadOptions, 'deviceId' | 'intraOpNumThreads'>, gpuOutputs?: string[]): ort.InferenceSession.SessionOptions {
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === 'cuda' || provider === 'tensorrt' ? ({ name: provider, deviceId: opts.deviceId ?? 0 } as never) : provider;
  const so: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    ...(opts.intraOpNumThreads ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
  };
  if (provider === 'webgpu' && gpuOutputs?.length) {
    so.preferredOutputLocation = Object.fromEntries(gpuOutputs.map((n) => [n, 'gpu-buffer' as const]));
  }
  return so;
}

export async function loadGraphs(opts: LoadOptions): Promise<LoadedGraphs> {
  const log = opts.log ?? silentLogger;
  const files = {} as Record<GraphName, string>;
  for (const name of GRAPH_NAMES) files[name] = await graphFile(opts.modelDir, name);

  if (opts.prefetch !== false) {
    const all = (await Promise.all(GRAPH_NAMES.map((n) => weightFiles(files[n])))).flat();
    await prefetch(all, opts.onProgress);
  }
  if (opts.prepare) for (const name of GRAPH_NAMES) files[name] = await opts.prepare(name, files[name]);

  const wanted = [...(opts.providers ?? ['cpu'])];
  if (!wanted.includes('cpu')) wanted.push('cpu');
  let lastError: Error | undefined;
  for (const provider of wanted) {
    const sessions = {} as Record<GraphName, ort.InferenceSession>;
    try {
      for (const [i, name] of GRAPH_NAMES.entries()) {
        opts.onProgress?.({ phase: 'opening graphs', fraction: i / GRAPH_NAMES.length, detail: `${name} on ${provider}` });
        // The KV (temporal across ticks, depformer across substeps) stays on the GPU between runs where the
        // binding allows it (WebGPU only): no host copy of present.* per run.
        let gpuOutputs = (name === 'temporal' || name === 'depformer') && provider === 'webgpu' ? await presentNames(files[name]) : undefined;
        if (gpuOutputs && opts.gpuLogits) gpuOutputs = [...gpuOutputs, name === 'temporal' ? 'text_logits' : 'logits'];
        if (gpuOutputs && opts.gpuStepOutputs && name === 'temporal') gpuOutputs = [...gpuOutputs, 'hidden'];
        if (provider === 'webgpu' && opts.gpuStepOutputs && name === 'mimi_decoder') gpuOutputs = ['waveform'];
        sessions[name] = await ort.InferenceSession.create(files[name], sessionOptions(provider, opts, gpuOutputs));
      }
    } catch (err) {
      await Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
      lastError = err as Error;
      if (isGraphError(lastError)) throw new Error(`PersonaPlex graph could not be loaded: ${lastError.message}`);
      const next = wanted[wanted.indexOf(provider) + 1];
      log.warn({ provider, err: firstLine(lastError.message), fallback: next ?? null }, 'execution provider failed to load');
      continue;
    }
    opts.onProgress?.({ phase: 'opening graphs', fraction: 1 });
    try {
      const geometry = validate(sessions);
      const mimi = mimiLayout(sessions);
      log.info({ mimi }, mimi === 'streaming' ? 'Mimi streams with its state, as the reference' : 'Mimi re-runs whole-utterance graphs on a window (an approximation of the reference streaming; export/mimi_streaming.py makes streaming graphs)');
      return {
        sessions,
        geometry,
        provider,
        mimiLayout: mimi,
        dispose: async () => {
          await Promise.all(Object.values(sessions).map((s) => s.release()));
        },
      };
    } catch (err) {
      await Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
      throw err;
    }
  }
  throw new Error(`PersonaPlex graphs could not be opened on any provider: ${lastError?.message}`);
}

function firstLine(s: string) {
  return s.split('\n')[0]!.slice(0, 300);
}

/** Errors that are about the file, not the provider: no point retrying elsewhere. */
function isGraphError(err: Error) {
  return /protobuf parsing failed|Load model .* failed|INVALID_PROTOBUF|NO_SUCHFILE|No such file|invalid model|ModelProto/i.test(err.message);
}

/** Output names of the temporal graph's KV, read by opening it once on the CPU without optimisation. */
async function presentNames(file: string): Promise<string[]> {
  const s = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  const names = s.outputNames.filter((n) => n.startsWith('present.'));
  await s.release();
  return names;
}

// ---------------------------------------------------------------------------------------------------------
// Validation: every name, dtype and fixed dim the loop depends on, with messages that say what was found.

class Checker {
  constructor(
    private readonly graph: GraphName,
    private readonly list: readonly Meta[],
    private readonly kind: 'input' | 'output',
  ) {}

  get(name: string, optional = false): ort.InferenceSession.TensorValueMetadata | undefined {
    const m = this.list.find((x) => x.name === name);
    if (!m) {
      if (optional) return undefined;
      throw new Error(
        `PersonaPlex graph '${this.graph}' has no ${this.kind} '${name}' (its ${this.kind}s: ${this.list.map((x) => x.name).slice(0, 12).join(', ')}${this.list.length > 12 ? ', …' : ''}); is this a mobius PersonaPlex export?`,
      );
    }
    if (!m.isTensor) throw new Error(`PersonaPlex graph '${this.graph}' ${this.kind} '${name}' is not a tensor`);
    return m;
  }

  expect(name: string, types: string[], rank: number, fixed: Record<number, number> = {}, optional = false) {
    const m = this.get(name, optional);
    if (!m) return undefined;
    if (!types.includes(m.type)) {
      throw new Error(`PersonaPlex graph '${this.graph}' ${this.kind} '${name}' has dtype ${m.type}, expected ${types.join(' or ')}`);
    }
    if (m.shape.length && m.shape.length !== rank) {
      throw new Error(`PersonaPlex graph '${this.graph}' ${this.kind} '${name}' has rank ${m.shape.length} [${m.shape.join(', ')}], expected rank ${rank}`);
    }
    for (const [axis, size] of Object.entries(fixed)) {
      const d = m.shape[Number(axis)];
      if (typeof d === 'number' && d !== size) {
        throw new Error(`PersonaPlex graph '${this.graph}' ${this.kind} '${name}' has size ${d} on axis ${axis}, expected ${size}`);
      }
    }
    return m;
  }

  kvCount(prefix: string): number {
    let n = 0;
    while (this.list.some((x) => x.name === `${prefix}.${n}.key`)) n++;
    if (n === 0) throw new Error(`PersonaPlex graph '${this.graph}' has no ${this.kind} '${prefix}.0.key'`);
    return n;
  }
}

function numericDim(graph: string, name: string, m: ort.InferenceSession.TensorValueMetadata, axis: number): number {
  const d = m.shape[axis];
  if (typeof d !== 'number') throw new Error(`PersonaPlex graph '${graph}' '${name}' axis ${axis} must be a fixed size, found '${String(d)}'`);
  return d;
}

const FLOATS = ['float32', 'float16'];

export function validate(s: Record<GraphName, ort.InferenceSession>): Geometry {
  const encIn = new Checker('mimi_encoder', s.mimi_encoder.inputMetadata, 'input');
  const encOut = new Checker('mimi_encoder', s.mimi_encoder.outputMetadata, 'output');
  encIn.expect('waveform', ['float32'], 3, { 1: 1 });
  encOut.expect('codes', ['int64'], 3, { 1: MIMI_CODEBOOKS });
  const decIn = new Checker('mimi_decoder', s.mimi_decoder.inputMetadata, 'input');
  const decOut = new Checker('mimi_decoder', s.mimi_decoder.outputMetadata, 'output');
  decIn.expect('codes', ['int64'], 3, { 1: MIMI_CODEBOOKS });
  decOut.expect('waveform', ['float32'], 3, { 1: 1 });

  const tIn = new Checker('temporal', s.temporal.inputMetadata, 'input');
  const tOut = new Checker('temporal', s.temporal.outputMetadata, 'output');
  tIn.expect('input_frame', ['int64'], 3, { 1: NUM_STREAMS });
  tIn.expect('attention_mask', ['int64'], 2);
  const pos = tIn.expect('position_ids', ['int64'], 2, {}, true);
  const tLayers = tIn.kvCount('past_key_values');
  if (new Checker('temporal', s.temporal.outputMetadata, 'output').kvCount('present') !== tLayers) {
    throw new Error(`PersonaPlex graph 'temporal' has ${tLayers} past_key_values layers but a different number of present outputs`);
  }
  const k0 = tIn.expect('past_key_values.0.key', FLOATS, 4)!;
  const tHeads = numericDim('temporal', 'past_key_values.0.key', k0, 1);
  const tHeadDim = numericDim('temporal', 'past_key_values.0.key', k0, 3);
  for (let i = 0; i < tLayers; i++) {
    for (const kv of ['key', 'value']) {
      tIn.expect(`past_key_values.${i}.${kv}`, [k0.type], 4, { 1: tHeads, 3: tHeadDim });
      tOut.expect(`present.${i}.${kv}`, [k0.type], 4, { 1: tHeads, 3: tHeadDim });
    }
  }
  const hidden = tOut.expect('hidden', FLOATS, 3)!;
  const tHidden = numericDim('temporal', 'hidden', hidden, 2);
  const logits = tOut.expect('text_logits', FLOATS, 3)!;
  const textVocab = numericDim('temporal', 'text_logits', logits, 2);

  const dIn = new Checker('depformer', s.depformer.inputMetadata, 'input');
  const dOut = new Checker('depformer', s.depformer.outputMetadata, 'output');
  const dHidden = dIn.expect('hidden', [hidden.type], 3, { 1: 1, 2: tHidden });
  if (!dHidden) throw new Error('unreachable');
  dIn.expect('prev_token', ['int64'], 2, { 1: 1 });
  dIn.expect('substep_index', ['int64'], 0);
  const dLayers = dIn.kvCount('past_key_values');
  const dk0 = dIn.expect('past_key_values.0.key', FLOATS, 4)!;
  const dHeads = numericDim('depformer', 'past_key_values.0.key', dk0, 1);
  const dHeadDim = numericDim('depformer', 'past_key_values.0.key', dk0, 3);
  for (let i = 0; i < dLayers; i++) {
    for (const kv of ['key', 'value']) {
      dIn.expect(`past_key_values.${i}.${kv}`, [dk0.type], 4, { 1: dHeads, 3: dHeadDim });
      dOut.expect(`present.${i}.${kv}`, [dk0.type], 4, { 1: dHeads, 3: dHeadDim });
    }
  }
  const dLogits = dOut.expect('logits', FLOATS, 3, { 1: 1 })!;
  const audioVocab = numericDim('depformer', 'logits', dLogits, 2);
  if (audioVocab !== AUDIO_CARD) throw new Error(`PersonaPlex graph 'depformer' predicts ${audioVocab} audio tokens, expected ${AUDIO_CARD}`);

  return {
    temporalLayers: tLayers,
    temporalHeads: tHeads,
    temporalHeadDim: tHeadDim,
    temporalHidden: tHidden,
    textVocab,
    temporalKvType: k0.type as KvType,
    hasPositionIds: !!pos,
    depLayers: dLayers,
    depHeads: dHeads,
    depHeadDim: dHeadDim,
    depKvType: dk0.type as KvType,
    hiddenType: hidden.type as KvType,
    audioVocab,
    textLogitsType: logits.type as KvType,
    audioLogitsType: dLogits.type as KvType,
  };
}

/**
 * Whether the temporal graph attends with com.microsoft GroupQueryAttention (mobius emits it for CUDA fp16
 * builds): then each row's KV must be a valid prefix and the new slot lands right after it, instead of being
 * appended at the end with padding masked out. Op types are plain strings in the protobuf, so a byte search
 * of the (weights-external) model file is enough.
 */
export async function detectKvLayout(modelDir: string): Promise<'gqa' | 'concat'> {
  const file = await graphFile(modelDir, 'temporal');
  const fh = await open(file, 'r');
  try {
    const needle = Buffer.from('GroupQueryAttention');
    const chunk = Buffer.allocUnsafe(16 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return 'concat';
      const hay = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (hay.includes(needle)) return 'gqa';
      carry = hay.subarray(Math.max(0, hay.length - needle.length));
    }
  } finally {
    await fh.close();
  }
}
