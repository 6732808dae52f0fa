/**
 * Positions past the rotary table. The reference computes RoPE from the absolute position on the fly, so a
 * conversation can run for as long as it likes (the window only limits what it attends to). A mobius export
 * instead gathers cos/sin rows from tables of `max_position_embeddings` (8000) rows: at frame 8000 (about 10.7
 * minutes, prompt included) the CPU provider fails the run and a GPU provider may read past the table.
 *
 * The tables are deterministic, so they are extended at load: each column's frequency is recovered from the
 * table itself (unwrapped over its last row, so no theta is assumed), the existing rows are recomputed to prove
 * the formula (float32 angle = position · frequency, as mobius' numpy and the reference's torch compute it), and
 * the rows up to `positions` are appended. The patched graph is written beside the original (so its external
 * weight files still resolve) and loaded instead.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType, type TensorProto } from 'onnx-buf';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface RopeExtension {
  /** the graph file to load */
  file: string;
  /** rows of the rotary tables after extension, or null when the graph has no tables (positions unbounded) */
  positions: number | null;
  /** rows the export shipped */
  original: number | null;
}

/** Largest difference allowed between a shipped row and its recomputation (float32 cos/sin, about 1 ulp). */
const FORMULA_TOL = 1e-6;

const isTable = (t: TensorProto, kind: 'cos' | 'sin') => new RegExp(`(^|[./_])${kind}_cache$`).test(t.name) && t.dims.length === 2;

async function tensorFloats(t: TensorProto, dir: string): Promise<Float32Array> {
  if (t.dataType !== TensorProto_DataType.FLOAT) throw new Error(`rotary table ${t.name} is not float32`);
  const n = t.dims.reduce((a, b) => a * Number(b), 1);
  // copy into a fresh buffer: rawData may be a view into the whole file (a Node Buffer slice shares memory)
  if (t.rawData.length) return new Float32Array(Uint8Array.from(t.rawData).buffer, 0, n);
  if (t.floatData.length) return Float32Array.from(t.floatData);
  const ext = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
  if (!ext.location) throw new Error(`rotary table ${t.name} has no data`);
  const fh = await open(path.join(dir, ext.location), 'r');
  try {
    const buf = Buffer.alloc(n * 4);
    await fh.read(buf, 0, buf.length, Number(ext.offset ?? 0));
    return new Float32Array(buf.buffer, buf.byteOffset, n);
  } finally {
    await fh.close();
  }
}

/** Each column's float32 frequency, from rows 1 and N-1 of the (cos, sin) tables. */
export function recoverFrequencies(cos: Float32Array, sin: Float32Array, rows: number, cols: number): Float64Array {
  const f = new Float64Array(cols);
  const last = rows - 1;
  for (let i = 0; i < cols; i++) {
    const approx = Math.atan2(sin[cols + i]!, cos[cols + i]!);
    const wrapped = Math.atan2(sin[last * cols + i]!, cos[last * cols + i]!);
    const k = Math.round((approx * last - wrapped) / (2 * Math.PI));
    f[i] = Math.fround((wrapped + 2 * Math.PI * k) / last);
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
 * Extends the temporal graph's rotary tables to `positions` rows when they are shorter. Returns the file to
 * load and the table length the engine must stay under.
 */
export async function extendRopeTables(file: string, positions: number): Promise<RopeExtension> {
  const model = fromBinary(ModelProtoSchema, await readFile(file));
  const inits = model.graph?.initializer ?? [];
  const cosT = inits.find((t) => isTable(t, 'cos'));
  const sinT = inits.find((t) => isTable(t, 'sin'));
  if (!cosT || !sinT) return { file, positions: null, original: null };
  const rows = Number(cosT.dims[0]);
  const cols = Number(cosT.dims[1]);
  if (rows >= positions) return { file, positions: rows, original: rows };
  const out = path.join(path.dirname(file), `${path.basename(file, '.onnx')}.rope${positions}.onnx`);
  const made = await stat(out).then((s) => s.mtimeMs, () => -1);
  const fresh = made >= (await stat(file)).mtimeMs;
  const dir = path.dirname(file);
  const cos = await tensorFloats(cosT, dir);
  const sin = await tensorFloats(sinT, dir);
  const freq = recoverFrequencies(cos, sin, rows, cols);
  const again = ropeRows(freq, 0, rows);
  let worst = 0;
  for (let j = 0; j < rows * cols; j++) worst = Math.max(worst, Math.abs(again.cos[j]! - cos[j]!), Math.abs(again.sin[j]! - sin[j]!));
  if (worst > FORMULA_TOL) {
    throw new Error(`rotary tables of ${file} do not follow cos/sin(position × frequency) (off by ${worst.toExponential(2)}); cannot extend them past ${rows} positions`);
  }
  if (!fresh) {
    // The shipped rows stay as they are (bit for bit); only the new ones are computed.
    const more = ropeRows(freq, rows, positions);
    const join = (old: Float32Array, added: Float32Array) => {
      const all = new Float32Array(positions * cols);
      all.set(old);
      all.set(added, rows * cols);
      return all;
    };
    for (const [t, data] of [
      [cosT, join(cos, more.cos)],
      [sinT, join(sin, more.sin)],
    ] as const) {
      t.dims = [BigInt(positions), BigInt(cols)];
      t.rawData = new Uint8Array(data.buffer);
      t.floatData = [];
      t.externalData = [];
      t.dataLocation = 0;
    }
    await writeFile(out, toBinary(ModelProtoSchema, model)).catch((err: Error) => {
      throw new Error(`cannot write the extended rotary tables beside ${file} (${err.message}); make the folder writable or set maxPositions to ${rows}`);
    });
  }
  return { file: out, positions, original: rows };
}
