/**
 * Positions without a time limit. The reference computes RoPE from the absolute position on the fly, so a
 * conversation can run for as long as it likes (the window only limits what it attends to). A mobius export
 * instead gathers cos/sin rows from tables of `max_position_embeddings` (8000) rows (GroupQueryAttention builds
 * index the same tables with the cache length), so positions must stay below the table.
 *
 * RoPE is relative: a query at position P attending a key at p only sees P - p. Both mobius graph kinds store
 * keys after rotary (the concat build's Attention gets rotated keys; GroupQueryAttention with do_rotary caches
 * them rotated), so the engine re-bases a session from time to time: it drops the frames that left the window
 * and rotates the kept keys back by the same number of positions (`rebaseKeys`), and the session goes on from
 * the lower positions. The rotation is the exact difference of the table's own float32 angles, so a re-based key
 * equals (up to one rounding) the key the graph would have stored at the lower position.
 *
 * Load time: each column's frequency is recovered from the tables themselves (unwrapped over the last row, so no
 * theta is assumed) and the existing rows are recomputed to prove the formula (float32 angle = position ·
 * frequency, as mobius' numpy and the reference's torch compute it). Tables shorter than the engine needs (the
 * context plus re-basing slack) are extended; a GroupQueryAttention `local_window_size` is set to the
 * reference's window (context - 1 frames, the current one included). The patched graph is written beside the
 * original (so its external weight files still resolve) and loaded instead. `probeRopeLayout` then finds, by
 * running the graph once at two positions, whether the cached keys are rotated in halves (mobius) or
 * interleaved pairs (the reference's own layout), and proves that the export caches rotated keys at all.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, ModelProtoSchema, TensorProto_DataType, type TensorProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { floatToHalf, halfTable, halfToFloat } from './half.ts';

export interface RopeExtension {
  /** the graph file to load */
  file: string;
  /** rows of the rotary tables after extension, or null when the graph has no tables (positions unbounded) */
  positions: number | null;
  /** rows the export shipped */
  original: number | null;
  /** each rotary column's float32 frequency (null without tables) */
  freq: Float64Array | null;
  /** GroupQueryAttention local_window_size before and after the patch (null: no GroupQueryAttention) */
  gqaWindow: { from: number; to: number } | null;
}

/**
 * Largest difference allowed between a shipped row and its recomputation: about 1 ulp of float32 cos/sin, or of
 * float16 for the fp16 tables of a GroupQueryAttention fp16 build (their query type).
 */
const FORMULA_TOL = { float32: 1e-6, float16: 1e-3 };

const isTable = (t: TensorProto, kind: 'cos' | 'sin') => new RegExp(`(^|[./_])${kind}_cache$`).test(t.name) && t.dims.length === 2;

async function tensorFloats(t: TensorProto, dir: string): Promise<Float32Array> {
  const half = t.dataType === TensorProto_DataType.FLOAT16;
  if (t.dataType !== TensorProto_DataType.FLOAT && !half) throw new Error(`rotary table ${t.name} is neither float32 nor float16`);
  const n = t.dims.reduce((a, b) => a * Number(b), 1);
  const size = half ? 2 : 4;
  let bytes: Uint8Array;
  if (t.rawData.length) bytes = Uint8Array.from(t.rawData); // a fresh copy: rawData may view the whole file
  else if (!half && t.floatData.length) return Float32Array.from(t.floatData);
  else if (half && t.int32Data.length) return Float32Array.from(t.int32Data, (h) => halfToFloat(h));
  else {
    const ext = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
    if (!ext.location) throw new Error(`rotary table ${t.name} has no data`);
    const fh = await open(path.join(dir, ext.location), 'r');
    try {
      bytes = new Uint8Array(n * size);
      await fh.read(bytes, 0, bytes.length, Number(ext.offset ?? 0));
    } finally {
      await fh.close();
    }
  }
  if (!half) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  return Float32Array.from(new Uint16Array(bytes.buffer, bytes.byteOffset, n), (h) => halfToFloat(h));
}

/**
 * Each column's float32 frequency from the (cos, sin) tables: the phase is unwrapped row by row (a step is under
 * π: frequencies are at most 1 rad per position) and the last row's total phase divided by its position (float32
 * tables: exact). `fit` (float16 tables, about 2.4e-4 rad of rounding per row): a least-squares line through all
 * the rows' phases instead, which averages the rounding out.
 */
export function recoverFrequencies(cos: Float32Array, sin: Float32Array, rows: number, cols: number, fit = false): Float64Array {
  const f = new Float64Array(cols);
  const last = rows - 1;
  for (let i = 0; i < cols; i++) {
    let prev = Math.atan2(sin[i]!, cos[i]!);
    let phase = prev;
    let rp = 0;
    let rr = 0;
    for (let r = 1; r < rows; r++) {
      const a = Math.atan2(sin[r * cols + i]!, cos[r * cols + i]!);
      let d = a - prev;
      d -= 2 * Math.PI * Math.round(d / (2 * Math.PI));
      phase += d;
      prev = a;
      rp += r * phase;
      rr += r * r;
    }
    f[i] = Math.fround(fit ? rp / rr : phase / last);
  }
  return f;
}

/** Rows [from, to) of the tables for these frequencies: float32 angle, then cos/sin rounded to float32. */
export function ropeRows(freq: Float64Array, from: number, to: number): { cos: Float32Array; sin: Float32Array } {
  const cols = freq.length;
  const cos = new Float32Array((to - from) * cols);
  const sin = new Float32Array((to - from) * cols);
  for (let p = from; p < to; p++) {
    for (let i = 0; i < cols; i++) {
      const a = Math.fround(p * freq[i]!);
      cos[(p - from) * cols + i] = Math.cos(a);
      sin[(p - from) * cols + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/**
 * Extends the temporal graph's rotary tables to `positions` rows (a number, or one per kind of graph: GroupQueryAttention
 * or not) when they are shorter, and sets every
 * GroupQueryAttention's local_window_size to `gqaWindow` when given. Returns the file to load, the table length
 * the engine must stay under, and the frequencies.
 */
export async function extendRopeTables(file: string, positions: number | ((gqa: boolean) => number), gqaWindow?: number): Promise<RopeExtension> {
  const model = fromBinary(ModelProtoSchema, await readFile(file));
  const inits = model.graph?.initializer ?? [];
  const gqa = (model.graph?.node ?? []).filter((n) => n.opType === 'GroupQueryAttention');
  const windowAttr = (n: (typeof gqa)[number]) => n.attribute.find((a) => a.name === 'local_window_size');
  const shippedWindow = gqa.length ? Number(windowAttr(gqa[0]!)?.i ?? -1n) : null;
  const window = shippedWindow === null ? null : { from: shippedWindow, to: gqaWindow ?? shippedWindow };
  const cosT = inits.find((t) => isTable(t, 'cos'));
  const sinT = inits.find((t) => isTable(t, 'sin'));
  if (!cosT || !sinT) {
    if (window) throw new Error(`${file}: GroupQueryAttention without cos_cache/sin_cache tables; cannot check its rotary positions`);
    return { file, positions: null, original: null, freq: null, gqaWindow: null };
  }
  const rows = Number(cosT.dims[0]);
  const cols = Number(cosT.dims[1]);
  const dir = path.dirname(file);
  const cos = await tensorFloats(cosT, dir);
  const sin = await tensorFloats(sinT, dir);
  const half = cosT.dataType === TensorProto_DataType.FLOAT16;
  const freq = recoverFrequencies(cos, sin, rows, cols, half);
  const again = ropeRows(freq, 0, rows);
  let worst = 0;
  for (let j = 0; j < rows * cols; j++) worst = Math.max(worst, Math.abs(again.cos[j]! - cos[j]!), Math.abs(again.sin[j]! - sin[j]!));
  if (worst > FORMULA_TOL[half ? 'float16' : 'float32']) {
    throw new Error(`rotary tables of ${file} do not follow cos/sin(position × frequency) (off by ${worst.toExponential(2)}); cannot extend or re-base them`);
  }
  const target = Math.max(rows, typeof positions === 'number' ? positions : positions(window !== null));
  const patchWindow = window !== null && window.to !== window.from;
  if (target === rows && !patchWindow) return { file, positions: rows, original: rows, freq, gqaWindow: window };
  const out = path.join(dir, `${path.basename(file, '.onnx')}.rope${target}${patchWindow ? `.w${window!.to}` : ''}.onnx`);
  const made = await stat(out).then((s) => s.mtimeMs, () => -1);
  const fresh = made >= (await stat(file)).mtimeMs;
  if (!fresh) {
    if (target > rows) {
      // The shipped rows stay as they are (bit for bit); only the new ones are computed.
      const more = ropeRows(freq, rows, target);
      const join = (old: Float32Array, added: Float32Array) => {
        const all = new Float32Array(target * cols);
        all.set(old);
        all.set(added, rows * cols);
        return all;
      };
      for (const [t, data] of [
        [cosT, join(cos, more.cos)],
        [sinT, join(sin, more.sin)],
      ] as const) {
        t.dims = [BigInt(target), BigInt(cols)];
        // fp16 tables: the shipped rows went through float32 and back exactly; the new ones round once
        t.rawData = half ? new Uint8Array(Uint16Array.from(data, floatToHalf).buffer) : new Uint8Array(data.buffer);
        t.int32Data = [];
        t.floatData = [];
        t.externalData = [];
        t.dataLocation = 0;
      }
    }
    if (patchWindow) {
      for (const n of gqa) {
        const a = windowAttr(n);
        if (a) a.i = BigInt(window!.to);
        else n.attribute.push({ ...n.attribute[0]!, name: 'local_window_size', type: AttributeProto_AttributeType.INT, i: BigInt(window!.to), ints: [], floats: [], strings: [], f: 0, s: new Uint8Array(0) } as never);
      }
    }
    await writeFile(out, toBinary(ModelProtoSchema, model)).catch((err: Error) => {
      throw new Error(`cannot write the patched temporal graph beside ${file} (${err.message}); make the folder writable`);
    });
  }
  return { file: out, positions: target, original: rows, freq, gqaWindow: window };
}

// ---------------------------------------------------------------------------------------------------------
// Re-basing

export type RopeLayout = 'halves' | 'interleaved';
type KvArray = Float32Array | Uint16Array;

/**
 * cos/sin of the rotation that takes a key cached at position p to position p - shift, for p = from .. from +
 * count - 1: the difference of the table's float32 angles, so the result is the key the graph stores at p - shift.
 */
export function rebaseRotation(freq: Float64Array, from: number, count: number, shift: number): { cos: Float64Array; sin: Float64Array } {
  const cols = freq.length;
  const cos = new Float64Array(count * cols);
  const sin = new Float64Array(count * cols);
  for (let j = 0; j < count; j++) {
    const p = from + j;
    for (let i = 0; i < cols; i++) {
      const d = Math.fround((p - shift) * freq[i]!) - Math.fround(p * freq[i]!);
      cos[j * cols + i] = Math.cos(d);
      sin[j * cols + i] = Math.sin(d);
    }
  }
  return { cos, sin };
}

/**
 * One layer's cached keys [heads][len][headDim] → the last `rot.count` slots, rotated by `rot` (a new array).
 * fp16 keys are rotated in float32 and rounded once to half (round to nearest even). Loops are written out per
 * layout and type: this runs over every cached key of a session (7B: 32 layers × 32 heads × ~3,000 × 128).
 */
export function rebaseKeys(keys: KvArray, heads: number, len: number, headDim: number, rot: { cos: Float64Array; sin: Float64Array }, layout: RopeLayout): KvArray {
  const half = headDim / 2;
  const keep = rot.cos.length / half;
  // the pair's two elements: (i, i + half) in halves, (2i, 2i + 1) interleaved
  const step = layout === 'halves' ? 1 : 2;
  const other = layout === 'halves' ? half : 1;
  const cos = Float32Array.from(rot.cos);
  const sin = Float32Array.from(rot.sin);
  if (keys instanceof Float32Array) {
    const out = new Float32Array(heads * keep * headDim);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < keep; j++) {
        const src = (h * len + len - keep + j) * headDim;
        const dst = (h * keep + j) * headDim;
        const r = j * half;
        for (let i = 0; i < half; i++) {
          const ia = i * step;
          const a = keys[src + ia]!;
          const b = keys[src + ia + other]!;
          const c = cos[r + i]!;
          const s = sin[r + i]!;
          out[dst + ia] = a * c - b * s;
          out[dst + ia + other] = a * s + b * c;
        }
      }
    }
    return out;
  }
  const table = halfTable();
  const out = new Uint16Array(heads * keep * headDim);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < keep; j++) {
      const src = (h * len + len - keep + j) * headDim;
      const dst = (h * keep + j) * headDim;
      const r = j * half;
      for (let i = 0; i < half; i++) {
        const ia = i * step;
        const a = table[keys[src + ia]!]!;
        const b = table[keys[src + ia + other]!]!;
        const c = cos[r + i]!;
        const s = sin[r + i]!;
        out[dst + ia] = floatToHalf(a * c - b * s);
        out[dst + ia + other] = floatToHalf(a * s + b * c);
      }
    }
  }
  return out;
}

/** The last `keep` slots of one layer's values [heads][len][headDim] (values carry no position). */
export function keepLast(values: KvArray, heads: number, len: number, headDim: number, keep: number): KvArray {
  const out = values instanceof Uint16Array ? new Uint16Array(heads * keep * headDim) : new Float32Array(heads * keep * headDim);
  for (let h = 0; h < heads; h++) out.set(values.subarray((h * len + len - keep) * headDim, (h * len + len) * headDim) as never, h * keep * headDim);
  return out;
}

/**
 * Runs the temporal graph on one frame at position 0 and at position `at` (after `at` zero past entries, so a
 * GroupQueryAttention build, whose position is its cache length, gets there too) and compares layer 0's new key
 * (which depends on nothing but the frame and its position) with the first one rotated by the table angle in
 * each layout. Returns the layout that fits, or null when neither does (keys not cached rotated, or another
 * rotary scheme): then the engine cannot re-base and sessions end at the table's end as before.
 */
export async function probeRopeLayout(
  session: ort.InferenceSession,
  g: { temporalLayers: number; temporalHeads: number; temporalHeadDim: number; temporalKvType: 'float32' | 'float16'; hasPositionIds: boolean },
  freq: Float64Array,
  /** reads an output's data (on WebGPU, present.* come back as gpu-buffer tensors: the engine's download) */
  download: (t: ort.Tensor) => Promise<KvArray> = async (t) => t.data as KvArray,
  at = 5,
): Promise<{ layout: RopeLayout | null; error: Record<RopeLayout, number> }> {
  const H = g.temporalHeads;
  const D = g.temporalHeadDim;
  if (freq.length !== D / 2) return { layout: null, error: { halves: Infinity, interleaved: Infinity } }; // partial rotary: not handled
  const key0 = async (P: number, pos: number): Promise<Float64Array> => {
    const frame = new BigInt64Array(17).fill(1n);
    const feeds: Record<string, ort.Tensor> = {
      input_frame: new ort.Tensor('int64', frame, [1, 17, 1]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(P + 1).fill(1n), [1, P + 1]),
    };
    if (g.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.of(BigInt(pos)), [1, 1]);
    for (let i = 0; i < g.temporalLayers; i++) {
      for (const kv of ['key', 'value']) {
        const n = H * P * D;
        feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor(g.temporalKvType, g.temporalKvType === 'float16' ? new Uint16Array(n) : new Float32Array(n), [1, H, P, D]);
      }
    }
    const r = await session.run(feeds, { 'present.0.key': null } as never);
    const data = await download(r['present.0.key']!);
    const T = P + 1;
    const out = new Float64Array(H * D);
    for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) out[h * D + d] = data instanceof Uint16Array ? halfToFloat(data[(h * T + P) * D + d]!) : data[(h * T + P) * D + d]!;
    for (const v of Object.values(r)) v.dispose?.();
    return out;
  };
  const k0 = await key0(0, 0);
  const kp = await key0(at, at);
  const rot = rebaseRotation(freq, 0, 1, -at); // position 0 → at
  const error = {} as Record<RopeLayout, number>;
  let norm = 0;
  for (const v of kp) norm = Math.max(norm, Math.abs(v));
  for (const layout of ['halves', 'interleaved'] as const) {
    const src = new Float32Array(k0);
    const moved = rebaseKeys(src, H, 1, D, rot, layout);
    let worst = 0;
    for (let i = 0; i < moved.length; i++) worst = Math.max(worst, Math.abs(moved[i]! - kp[i]!));
    error[layout] = worst / (norm || 1);
  }
  const tol = g.temporalKvType === 'float16' ? 4e-3 : 1e-4;
  const best = error.halves <= error.interleaved ? 'halves' : 'interleaved';
  return { layout: error[best] < tol ? best : null, error };
}
