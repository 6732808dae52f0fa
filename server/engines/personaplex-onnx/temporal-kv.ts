/**
 * The temporal transformer's KV cache for a batch of sessions at different context lengths.
 *
 * Each session owns a compact cache ([heads, len, headDim] per layer and K/V) while it is outside the batch.
 * The batch holds one [B, heads, P, headDim] tensor per layer and K/V, padded to the longest session, plus a
 * per-row mask. While the set of sessions is unchanged, each step's `present.*` outputs become the next step's
 * `past_key_values.*` inputs untouched (no host copy; on WebGPU they never leave the GPU). A session joining or
 * leaving rebuilds the batch from the compact caches.
 *
 * Two layouts, chosen by the export:
 * - 'concat' (mobius CPU/fp32 builds: Attention with past concatenation and a padding mask): the new slot is
 *   appended at index P for every row; a row's padding stays masked. Sliding the context window is masking
 *   the oldest valid slot; the batch is compacted when the padding grows.
 * - 'gqa' (GroupQueryAttention builds): only sum(mask) matters, the valid entries must be a prefix and the new
 *   slot lands right after them. Positions come from that count, so the context cannot slide; a session stops
 *   at the context limit.
 */
import * as ort from 'onnxruntime-node';
import type { Geometry, KvType } from './graphs.ts';

export type KvArray = Float32Array | Uint16Array;

/** A session's own cache, outside the batch. Never mutated once made, so snapshots can share it. */
export interface CompactKv {
  len: number;
  /** 2 × layers arrays, [heads][len][headDim]; order: layer0 key, layer0 value, layer1 key, … */
  data: KvArray[];
}

export function emptyKv(g: Geometry): CompactKv {
  return { len: 0, data: Array.from({ length: 2 * g.temporalLayers }, () => alloc(g.temporalKvType, 0)) };
}

export function alloc(type: KvType, n: number): KvArray {
  return type === 'float16' ? new Uint16Array(n) : new Float32Array(n);
}

export function kvNames(layers: number): { past: string[]; present: string[] } {
  const past: string[] = [];
  const present: string[] = [];
  for (let i = 0; i < layers; i++) {
    for (const kv of ['key', 'value']) {
      past.push(`past_key_values.${i}.${kv}`);
      present.push(`present.${i}.${kv}`);
    }
  }
  return { past, present };
}

/** Reads a tensor's data, downloading it first when it lives on the GPU. */
export type Download = (t: ort.Tensor) => Promise<KvArray>;

export const hostDownload: Download = async (t) => t.data as KvArray;

export class TemporalBatch {
  /** session keys in row order */
  rows: number[] = [];
  /** padded length of the batch tensors */
  P = 0;
  tensors: ort.Tensor[] = [];
  /** concat layout: per row, which of the P slots hold real entries */
  private valid: Uint8Array[] = [];
  /** per row, how many valid entries */
  lens: number[] = [];

  constructor(
    private readonly g: Geometry,
    private readonly layout: 'gqa' | 'concat',
    /**
     * the reference's `context` (concat layout). Its RingKVCache gives the slot about to be overwritten the next
     * position, so once full it never attends to it: attention covers context - 1 frames, the current one
     * included (proven against NVIDIA's code in tests/personaplex-onnx/reference/). A row keeps at most
     * context - 2 past entries.
     */
    private readonly window: number,
  ) {}

  sameRows(keys: number[]) {
    return keys.length === this.rows.length && keys.every((k, i) => k === this.rows[i]);
  }

  /** Builds the padded batch from compact caches, valid entries first in every row. */
  build(keys: number[], caches: CompactKv[]) {
    const g = this.g;
    const H = g.temporalHeads;
    const D = g.temporalHeadDim;
    const B = keys.length;
    const P = Math.max(0, ...caches.map((c) => c.len));
    this.disposeTensors();
    this.rows = [...keys];
    this.P = P;
    this.lens = caches.map((c) => c.len);
    this.valid = caches.map((c) => {
      const v = new Uint8Array(P);
      v.fill(1, 0, c.len);
      return v;
    });
    this.tensors = [];
    for (let t = 0; t < 2 * g.temporalLayers; t++) {
      const data = alloc(g.temporalKvType, B * H * P * D);
      caches.forEach((c, b) => {
        const src = c.data[t]!;
        for (let h = 0; h < H; h++) data.set(src.subarray(h * c.len * D, (h + 1) * c.len * D) as never, (b * H + h) * P * D);
      });
      this.tensors.push(new ort.Tensor(g.temporalKvType, data, [B, H, P, D]));
    }
  }

  /** backing store of the mask, grown geometrically and reused (a tensor wraps a view of it) */
  private maskBuf = new BigInt64Array(0);

  /** attention_mask for one new frame per row: [B, P + 1] */
  mask(): ort.Tensor {
    const B = this.rows.length;
    const T = this.P + 1;
    if (this.maskBuf.length < B * T) this.maskBuf = new BigInt64Array(Math.max(B * T, 2 * this.maskBuf.length));
    const m = this.maskBuf.subarray(0, B * T);
    m.fill(0n);
    for (let b = 0; b < B; b++) {
      if (this.layout === 'gqa') m.fill(1n, b * T, b * T + this.lens[b]! + 1);
      else {
        // Runs of valid slots as fills (a row is a few runs: kept prefix, padding, appended slots).
        const v = this.valid[b]!;
        let j = 0;
        while (j < this.P) {
          if (!v[j]) {
            j++;
            continue;
          }
          let e = j + 1;
          while (e < this.P && v[e]) e++;
          m.fill(1n, b * T + j, b * T + e);
          j = e;
        }
        m[b * T + this.P] = 1n;
      }
    }
    return new ort.Tensor('int64', m, [B, T]);
  }

  /** Takes the step's present.* as the new cache (ownership passes to the batch). */
  advance(presents: ort.Tensor[]) {
    for (const t of this.tensors) if (!presents.includes(t)) disposeIfGpu(t);
    this.tensors = presents;
    this.grow();
  }

  /** `advance` from a run's outputs by name, replacing the tensors in place (no array per step). */
  advanceFrom(outputs: Record<string, ort.Tensor>, names: readonly string[]) {
    if (this.tensors.length !== names.length) this.tensors = new Array<ort.Tensor>(names.length);
    for (let i = 0; i < names.length; i++) {
      const next = outputs[names[i]!]!;
      const old = this.tensors[i];
      if (old && old !== next) disposeIfGpu(old);
      this.tensors[i] = next;
    }
    this.grow();
  }

  private grow() {
    const P = this.P;
    for (let b = 0; b < this.rows.length; b++) {
      if (this.layout === 'concat') {
        // The row's flags grow in place (capacity doubling), not a new P + 1 array per row per tick; slots past
        // P stay 0 until the batch reaches them.
        let v = this.valid[b]!;
        if (v.length < P + 1) {
          const grown = new Uint8Array(Math.max(P + 1, 2 * v.length));
          grown.set(v);
          v = grown;
        }
        v[P] = 1;
        // Sliding window: forget the oldest entry once the row holds more than `window - 2` past frames.
        if (this.lens[b]! + 1 > this.window - 2) {
          const oldest = v.indexOf(1);
          v[oldest] = 0;
        } else this.lens[b]!++;
        this.valid[b] = v;
      } else this.lens[b]!++;
    }
    this.P = P + 1;
  }

  /** Slots that hold nothing for some row (padding or forgotten entries). */
  get waste(): number {
    let held = 0;
    for (let b = 0; b < this.lens.length; b++) held += this.lens[b]!;
    return this.rows.length * this.P - held;
  }

  /**
   * Every row's cache as compact copies, downloading each batch tensor once (not once per row): joining or
   * leaving costs 2 × layers downloads whatever the batch size.
   */
  async extractAll(download: Download, want?: boolean[]): Promise<(CompactKv | undefined)[]> {
    const out = this.rows.map((_, row) => (!want || want[row] ? { len: this.lens[row]!, data: [] as KvArray[] } : undefined));
    for (const t of this.tensors) {
      const src = await download(t);
      out.forEach((c, row) => c?.data.push(this.copyRow(src, row)));
    }
    return out;
  }

  private copyRow(src: KvArray, row: number): KvArray {
    const g = this.g;
    const H = g.temporalHeads;
    const D = g.temporalHeadDim;
    const len = this.lens[row]!;
    const slots: number[] = [];
    if (this.layout === 'gqa') for (let j = 0; j < len; j++) slots.push(j);
    else this.valid[row]!.forEach((v, j) => v && slots.push(j));
    const out = alloc(g.temporalKvType, H * len * D);
    for (let h = 0; h < H; h++) {
      const base = (row * H + h) * this.P * D;
      // Copy runs of consecutive slots at once.
      let j = 0;
      while (j < slots.length) {
        let e = j + 1;
        while (e < slots.length && slots[e] === slots[e - 1]! + 1) e++;
        out.set(src.subarray(base + slots[j]! * D, base + (slots[e - 1]! + 1) * D) as never, (h * len + j) * D);
        j = e;
      }
    }
    return out;
  }

  /** A row's cache as a compact copy (valid entries in order). */
  async extract(row: number, download: Download): Promise<CompactKv> {
    const data: KvArray[] = [];
    for (const t of this.tensors) data.push(this.copyRow(await download(t), row));
    return { len: this.lens[row]!, data };
  }

  disposeTensors() {
    for (const t of this.tensors) disposeIfGpu(t);
    this.tensors = [];
  }

  clear() {
    this.disposeTensors();
    this.rows = [];
    this.P = 0;
    this.valid = [];
    this.lens = [];
  }
}

function disposeIfGpu(t: ort.Tensor) {
  if (t.location === 'gpu-buffer') t.dispose();
}
