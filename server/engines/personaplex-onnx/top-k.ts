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

/**
 * Candidates are single float64 sort keys: the value's order-preserving 32 bits (±0 made equal), times 2^20,
 * plus (2^20 − 1 − id). Key order is then value order with ties to the lower id, exactly, so the heap compares
 * one number and the survivors are ordered by a native typed-array sort.
 */
const ID_BITS = 2 ** 20;

export class TopKSampler {
  private keys = new Float64Array(0);
  private all = new Float64Array(0);
  private ids = new Int32Array(0);
  private w = new Float64Array(0);
  private vals = new Float64Array(0);
  private readonly half = halfTable();
  private readonly f32 = new Float32Array(1);
  private readonly u32 = new Uint32Array(this.f32.buffer);

  private keysLarge = new Float64Array(0);

  private reserve(k: number) {
    if (this.ids.length >= k) return;
    this.ids = new Int32Array(k);
    this.w = new Float64Array(k);
    this.vals = new Float64Array(k);
  }

  private key(v: number, id: number): number {
    this.f32[0] = v === 0 ? 0 : v; // −0 sorts with +0, as the values compare equal
    const u = this.u32[0]!;
    const ordered = u >= 0x80000000 ? 0xffffffff - u : u + 0x80000000;
    return ordered * ID_BITS + (ID_BITS - 1 - id);
  }

  /** Draws one token id from `logits[offset .. offset+size)`; ties in the cut go to the lower id. */
  sample(logits: LogitRow, offset: number, size: number, p: SamplingParams, rng: Uniform): number {
    if (p.temperature <= 0 || p.topK === 1) return this.argmax(logits, offset, size);
    if (size > ID_BITS) throw new Error(`top-k over ${size} logits: at most ${ID_BITS} supported`);
    const k = p.topK > 0 && p.topK < size ? p.topK : size;
    this.reserve(k);
    const ids = this.ids;
    const t = logits instanceof Uint16Array ? this.half : null;
    if (k * 16 >= size && logits instanceof Uint16Array && size <= 65536) {
      // fp16 with a large share surviving (audio: 250 of 2048): exact radix selection on 16-bit integer keys
      // (halfKey), no float conversion until the k survivors, which come back best first.
      const packed = this.selectHalfNearCut(logits, offset, size, k) ?? this.selectHalfRadix(logits, offset, size, k);
      this.cutSize = size;
      this.cutKey = packed[k - 1]! >>> 16;
      for (let j = 0; j < k; j++) ids[j] = 65535 - (packed[j]! & 0xffff);
    } else {
      let keys: Float64Array;
      if (k * 16 >= size) {
        // A large share survives: key every value and partition the best k to the end.
        if (this.all.length !== size) this.all = new Float64Array(size);
        const all = this.all;
        for (let i = 0; i < size; i++) all[i] = this.key(logits instanceof Uint16Array ? this.half[logits[offset + i]!]! : logits[offset + i]!, i);
        selectLargest(all, k);
        if (this.keysLarge.length !== k) this.keysLarge = new Float64Array(k);
        keys = this.keysLarge;
        for (let j = 0; j < k; j++) keys[j] = all[size - k + j]!;
        keys.sort();
      } else {
        // Few survive (text: 25 of 32000): a k-entry heap rejects almost every value with one comparison.
        // k ≤ size here, so the heap fills: it is exactly k long (one array per k, no view per call).
        if (this.keys.length !== k) this.keys = new Float64Array(k);
        if (logits instanceof Uint16Array) this.selectHalf(logits, offset, size, k);
        else this.selectFloat(logits, offset, size, k);
        keys = this.keys.sort();
      }
      // Ascending keys: the best candidate is last.
      for (let j = 0; j < keys.length; j++) ids[j] = ID_BITS - 1 - (keys[keys.length - 1 - j]! % ID_BITS);
    }
    // Best first, as the survivors' values: the draw below is shared with the device-selection path
    // (device-top-k.ts), which receives exactly these values from ONNX TopK.
    const n = Math.min(k, size);
    const vals = this.vals;
    for (let i = 0; i < n; i++) vals[i] = t ? t[logits[offset + ids[i]!]!]! : logits[offset + ids[i]!]!;
    return ids[drawSorted(vals, n, p.temperature, rng, this.w)]!;
  }

  /** four interleaved 256-bin histograms: neighbouring values often share a bin, and one counter would serialise */
  private hist = new Int32Array(1024);
  private boundary = new Uint32Array(0);
  /** exactly k entries (radix survivors), sorted whole so no view is made per call */
  private packedK = new Uint32Array(0);
  private sortTmp = new Uint32Array(0);
  private sortCount = new Int32Array(256);

  /**
   * Top k of fp16 logits by two counting passes over the 16-bit key: the high byte over all values, then the
   * low byte inside the bucket where the cut falls. Candidates are visited in id order, so ties at the cut go to
   * the lower ids. Returns the k survivors packed as key << 16 | (65535 − id), sorted ascending (best last).
   */
  private selectHalfRadix(x: Uint16Array, offset: number, size: number, k: number): Uint32Array {
    const hist = this.hist;
    if (this.packedK.length !== k) this.packedK = new Uint32Array(k);
    if (this.boundary.length < size) this.boundary = new Uint32Array(size);
    hist.fill(0);
    let i = 0;
    for (; i + 3 < size; i += 4) {
      hist[halfKey(x[offset + i]!) >> 8]!++;
      hist[256 + (halfKey(x[offset + i + 1]!) >> 8)]!++;
      hist[512 + (halfKey(x[offset + i + 2]!) >> 8)]!++;
      hist[768 + (halfKey(x[offset + i + 3]!) >> 8)]!++;
    }
    for (; i < size; i++) hist[halfKey(x[offset + i]!) >> 8]!++;
    for (let b = 0; b < 256; b++) hist[b] = hist[b]! + hist[256 + b]! + hist[512 + b]! + hist[768 + b]!;
    let hiBin = 255;
    let above = 0;
    while (above + hist[hiBin]! < k) above += hist[hiBin--]!;
    const out = this.packedK;
    const boundary = this.boundary;
    const lowest = hiBin << 8;
    let n = 0;
    let nb = 0;
    hist.fill(0, 0, 256);
    for (let j = 0; j < size; j++) {
      const o = halfKey(x[offset + j]!);
      if (o < lowest) continue;
      if (o >> 8 > hiBin) out[n++] = ((o << 16) | (65535 - j)) >>> 0;
      else {
        boundary[nb++] = (o << 16) | j;
        hist[o & 255]!++;
      }
    }
    let loBin = 255;
    let aboveLo = 0;
    while (n + aboveLo + hist[loBin]! < k) aboveLo += hist[loBin--]!;
    let ties = k - n - aboveLo; // entries of the cut's exact key that fit, lowest ids first
    for (let j = 0; j < nb; j++) {
      const e = boundary[j]!;
      const o = e >>> 16;
      const lo = o & 255;
      if (lo > loBin || (lo === loBin && ties-- > 0)) out[n++] = ((o << 16) | (65535 - (e & 0xffff))) >>> 0;
    }
    // Survivors are in id order within each key: a stable counting sort by the key's low byte, then its high
    // byte (from hiBin up only), puts them best first with ties to the lower id, without comparisons.
    const tmp = this.sortTmp.length >= k ? this.sortTmp : (this.sortTmp = new Uint32Array(k));
    const count = this.sortCount;
    count.fill(0);
    for (let j = 0; j < k; j++) count[255 - ((out[j]! >>> 16) & 255)]!++;
    for (let b = 0, sum = 0; b < 256; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let j = 0; j < k; j++) {
      const v = out[j]!;
      tmp[count[255 - ((v >>> 16) & 255)]!++] = v;
    }
    const span = 256 - hiBin; // high bytes present: hiBin .. 255
    count.fill(0, 0, span);
    for (let j = 0; j < k; j++) count[255 - (tmp[j]! >>> 24)]!++;
    for (let b = 0, sum = 0; b < span; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let j = 0; j < k; j++) {
      const v = tmp[j]!;
      out[count[255 - (v >>> 24)]!++] = v;
    }
    return out;
  }

  /** the k-th best key of the last radix-selected row and that row's size: rows of one vocabulary are alike */
  private cutSize = 0;
  private cutKey = 0;
  private near = new Uint32Array(0);
  private nearSorted = new Uint32Array(0);
  private nearCount = new Int32Array(NEAR_RANGE);

  /**
   * The same top k in one pass, when the last row of this size predicts where the cut falls: only keys above
   * (last k-th best key − NEAR_MARGIN) are kept, in id order, then put best first by a counting sort over the
   * few keys between that cut and the row's maximum (ties stay in id order, so the lower id wins). Exact or
   * nothing: it returns null, and the caller runs the radix selection, when fewer than k values beat the cut
   * (the guess was too high), when too many do (too low), or when the keys span too wide a range.
   */
  private selectHalfNearCut(x: Uint16Array, offset: number, size: number, k: number): Uint32Array | null {
    if (this.cutSize !== size) return null;
    const cap = 2 * k;
    if (this.near.length < cap) {
      this.near = new Uint32Array(cap);
      this.nearSorted = new Uint32Array(cap);
    }
    const near = this.near;
    const cut = this.cutKey - NEAR_MARGIN;
    let n = 0;
    let top = 0;
    for (let i = 0; i < size; i++) {
      const o = halfKey(x[offset + i]!);
      if (o <= cut) continue;
      if (n === cap) return null;
      near[n++] = ((o << 16) | (65535 - i)) >>> 0;
      if (o > top) top = o;
    }
    if (n < k || top - cut > NEAR_RANGE) return null;
    const count = this.nearCount;
    const span = top - cut; // keys cut+1 .. top, counted best first at index top − key
    count.fill(0, 0, span);
    for (let j = 0; j < n; j++) count[top - (near[j]! >>> 16)]!++;
    for (let b = 0, sum = 0; b < span; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    const sorted = this.nearSorted;
    for (let j = 0; j < n; j++) {
      const v = near[j]!;
      sorted[count[top - (v >>> 16)]!++] = v;
    }
    if (this.packedK.length !== k) this.packedK = new Uint32Array(k);
    const out = this.packedK;
    for (let j = 0; j < k; j++) out[j] = sorted[j]!;
    return out;
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

  // The two loops differ only in how a value is read; kept separate so each stays monomorphic. `thr` is the
  // heap root's value: a later id with an equal value never enters, so only `v > thr` needs a key.
  private selectFloat(x: Float32Array, offset: number, size: number, k: number): number {
    const keys = this.keys;
    let filled = 0;
    let thr = -Infinity;
    for (let i = 0; i < size; i++) {
      const v = x[offset + i]!;
      if (filled < k) {
        keys[filled] = this.key(v, i);
        siftUp(keys, filled++);
        if (filled === k) thr = x[offset + ID_BITS - 1 - (keys[0]! % ID_BITS)]!;
      } else if (v > thr) {
        keys[0] = this.key(v, i);
        siftDown(keys, k);
        thr = x[offset + ID_BITS - 1 - (keys[0]! % ID_BITS)]!;
      }
    }
    return filled;
  }

  private selectHalf(x: Uint16Array, offset: number, size: number, k: number): number {
    const keys = this.keys;
    const t = this.half;
    let thr = -Infinity;
    // While the cut is ≥ 0, "v > cut" is an integer comparison on the raw bits: positive halves order as
    // their bits, up to +Infinity (0x7c00); negative ones (sign bit set) are all below. −1 when the cut is < 0.
    let thrBits = -1;
    const filled = Math.min(k, size);
    for (let i = 0; i < filled; i++) {
      keys[i] = this.key(t[x[offset + i]!]!, i);
      siftUp(keys, i);
    }
    if (filled < k) return filled;
    let root = x[offset + ID_BITS - 1 - (keys[0]! % ID_BITS)]!;
    thr = t[root]!;
    thrBits = thr >= 0 ? (thr === 0 ? 0 : root) : -1;
    const end = offset + size;
    for (let j = offset + k; j < end; j++) {
      if (thrBits >= 0) {
        // thrBits < h ≤ 0x7c00 as one unsigned comparison (no branch on the sign of h to mispredict); the
        // rejecting run stays in this inner loop, which reads and compares nothing else
        const lo = thrBits + 1;
        const span = 0x7c00 - thrBits;
        while (j < end && ((x[j]! - lo) >>> 0) >= span) j++;
        if (j === end) break;
      } else if (!(t[x[j]!]! > thr)) continue;
      const h = x[j]!;
      const i = j - offset;
      keys[0] = this.key(t[h]!, i);
      siftDown(keys, k);
      root = x[offset + ID_BITS - 1 - (keys[0]! % ID_BITS)]!;
      thr = t[root]!;
      thrBits = thr >= 0 ? (thr === 0 ? 0 : root) : -1;
    }
    return filled;
  }
}

/**
 * The temperature softmax and one draw over survivors given best first (`vals[0]` the largest; ties in id
 * order): returns the chosen position. Weights are summed in that order, exactly as the original sampler did;
 * equal values are adjacent and have equal weights, so Math.exp runs once per distinct value. `w` is scratch
 * of at least n entries.
 */
export function drawSorted(vals: Float64Array, n: number, temperature: number, rng: Uniform, w: Float64Array): number {
  const max = vals[0]!;
  let total = 0;
  let prevV = NaN;
  let prevW = 0;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if (v !== prevV) {
      prevV = v;
      prevW = Math.exp((v - max) / temperature);
    }
    w[i] = prevW;
    total += prevW;
  }
  return drawFromWeights(w, n, total, rng);
}

/**
 * drawSorted over fp16 bits `bits[at .. at + n)` read through the half table, without converting them first (the
 * device-side selection's values). Same arithmetic, so the same draw: equal bits are equal values, and the two
 * zeros, which differ in bits, give the same weight.
 */
export function drawSortedHalf(bits: Uint16Array, at: number, n: number, table: Float32Array, temperature: number, rng: Uniform, w: Float64Array): number {
  const max = table[bits[at]!]!;
  let total = 0;
  let prevH = -1;
  let prevW = 0;
  for (let i = 0; i < n; i++) {
    const h = bits[at + i]!;
    if (h !== prevH) {
      prevH = h;
      prevW = Math.exp((table[h]! - max) / temperature);
    }
    w[i] = prevW;
    total += prevW;
  }
  return drawFromWeights(w, n, total, rng);
}

/** Min-heap of keys: the root is the worst candidate. */
function siftUp(h: Float64Array, j: number) {
  const x = h[j]!;
  while (j > 0) {
    const parent = (j - 1) >> 1;
    if (h[parent]! <= x) break;
    h[j] = h[parent]!;
    j = parent;
  }
  h[j] = x;
}

function siftDown(h: Float64Array, n: number) {
  const x = h[0]!;
  let j = 0;
  for (;;) {
    const l = 2 * j + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && h[r]! < h[l]! ? r : l;
    if (h[c]! >= x) break;
    h[j] = h[c]!;
    j = c;
  }
  h[j] = x;
}

/** Rearranges `a` so that its k largest keys occupy the last k places (any order), by quickselect. */
function selectLargest(a: Float64Array, k: number) {
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three as the pivot.
    const mid = (lo + hi) >> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}


/** how far below the last row's k-th best key the one-pass selection starts keeping values (fp16 steps) */
const NEAR_MARGIN = 48;
/** widest key range the one-pass selection counting-sorts (beyond it, the radix selection runs) */
const NEAR_RANGE = 4096;

/**
 * fp16 bits → a 16-bit integer with the same order as the values: h + 0x8000 for h ≥ 0 and 0x10000 − h for
 * negatives, so +0 and −0 are equal (both 0x8000) and −Infinity is 0x0400; NaNs are not ordered. Branch-free.
 */
function halfKey(h: number): number {
  const s = h >> 15;
  return ((h ^ -s) + s) + (0x8000 << s);
}

/** One seeded draw from the first `n` weights (summing to `total`): the index where the cumulative sum passes u. */
function drawFromWeights(w: Float64Array, n: number, total: number, rng: Uniform): number {
  let u = rng.next() * total;
  for (let i = 0; i < n; i++) {
    u -= w[i]!;
    if (u < 0) return i;
  }
  return n - 1;
}
