/**
 * Top-k with temperature over one row of logits, with fixed scratch buffers (no allocation per call) and
 * O(n + m log k) selection: a k-entry min-heap rejects most candidates with one comparison. It reads float32
 * logits directly and fp16 logits (Uint16Array bits) through the half table, so fp16 exports need no
 * conversion pass. The draw is the same as the original sorted-insertion sampler for the same generator state:
 * the k survivors are ordered by value (ties: lower id first) and the weights are summed in that order.
 */
import { halfTable } from './half.ts';

export interface SamplingParams {
  temperature: number;
  topK: number;
}

/** The one random draw the sampler needs (the session's seeded generator). */
export interface Uniform {
  next(): number;
}

export type LogitRow = Float32Array | Uint16Array;

export class TopKSampler {
  private hv = new Float64Array(0);
  private hi = new Int32Array(0);
  private w = new Float64Array(0);
  private readonly half = halfTable();

  private reserve(k: number) {
    if (this.hv.length >= k) return;
    this.hv = new Float64Array(k);
    this.hi = new Int32Array(k);
    this.w = new Float64Array(k);
  }

  /** Draws one token id from `logits[offset .. offset+size)`; ties in the cut go to the lower id. */
  sample(logits: LogitRow, offset: number, size: number, p: SamplingParams, rng: Uniform): number {
    if (p.temperature <= 0 || p.topK === 1) return this.argmax(logits, offset, size);
    const k = p.topK > 0 && p.topK < size ? p.topK : size;
    this.reserve(k);
    const filled = logits instanceof Uint16Array ? this.selectHalf(logits, offset, size, k) : this.selectFloat(logits, offset, size, k);
    // Pop the heap worst-first into descending order: hv/hi[0] = best.
    const hv = this.hv;
    const hi = this.hi;
    for (let n = filled; n > 1; n--) {
      const v = hv[0]!;
      const id = hi[0]!;
      hv[0] = hv[n - 1]!;
      hi[0] = hi[n - 1]!;
      siftDown(hv, hi, 0, n - 1);
      hv[n - 1] = v;
      hi[n - 1] = id;
    }
    const max = hv[0]!;
    const w = this.w;
    let total = 0;
    for (let i = 0; i < filled; i++) {
      w[i] = Math.exp((hv[i]! - max) / p.temperature);
      total += w[i]!;
    }
    let u = rng.next() * total;
    for (let i = 0; i < filled; i++) {
      u -= w[i]!;
      if (u < 0) return hi[i]!;
    }
    return hi[filled - 1]!;
  }

  argmax(x: LogitRow, offset: number, size: number): number {
    const t = x instanceof Uint16Array ? this.half : null;
    let best = 0;
    let bestV = -Infinity;
    for (let i = 0; i < size; i++) {
      const v = t ? t[x[offset + i]!]! : x[offset + i]!;
      if (v > bestV) {
        bestV = v;
        best = i;
      }
    }
    return best;
  }

  // The two loops differ only in how a value is read; kept separate so each stays monomorphic.
  private selectFloat(x: Float32Array, offset: number, size: number, k: number): number {
    const hv = this.hv;
    const hi = this.hi;
    let filled = 0;
    for (let i = 0; i < size; i++) {
      const v = x[offset + i]!;
      if (filled < k) {
        hv[filled] = v;
        hi[filled] = i;
        siftUp(hv, hi, filled++);
      } else if (v > hv[0]!) {
        hv[0] = v;
        hi[0] = i;
        siftDown(hv, hi, 0, k);
      }
    }
    return filled;
  }

  private selectHalf(x: Uint16Array, offset: number, size: number, k: number): number {
    const hv = this.hv;
    const hi = this.hi;
    const t = this.half;
    let filled = 0;
    for (let i = 0; i < size; i++) {
      const v = t[x[offset + i]!]!;
      if (filled < k) {
        hv[filled] = v;
        hi[filled] = i;
        siftUp(hv, hi, filled++);
      } else if (v > hv[0]!) {
        hv[0] = v;
        hi[0] = i;
        siftDown(hv, hi, 0, k);
      }
    }
    return filled;
  }
}

/** Heap order: the root is the worst entry (lowest value; on equal values, the higher id). */
function worse(hv: Float64Array, hi: Int32Array, a: number, b: number): boolean {
  return hv[a]! < hv[b]! || (hv[a] === hv[b] && hi[a]! > hi[b]!);
}

function swap(hv: Float64Array, hi: Int32Array, a: number, b: number) {
  const v = hv[a]!;
  hv[a] = hv[b]!;
  hv[b] = v;
  const i = hi[a]!;
  hi[a] = hi[b]!;
  hi[b] = i;
}

function siftUp(hv: Float64Array, hi: Int32Array, j: number) {
  while (j > 0) {
    const parent = (j - 1) >> 1;
    if (!worse(hv, hi, j, parent)) return;
    swap(hv, hi, j, parent);
    j = parent;
  }
}

function siftDown(hv: Float64Array, hi: Int32Array, j: number, n: number) {
  for (;;) {
    const l = 2 * j + 1;
    if (l >= n) return;
    const r = l + 1;
    const c = r < n && worse(hv, hi, r, l) ? r : l;
    if (!worse(hv, hi, c, j)) return;
    swap(hv, hi, c, j);
    j = c;
  }
}
