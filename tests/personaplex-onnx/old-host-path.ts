/**
 * The host-side code the engine used before issue 17, kept verbatim as reference implementations: the tests
 * check that the new code gives the same results, and the host-overhead bench times old against new in the
 * same run. Not used by the engine.
 */
import type { Rng, SamplingParams } from '../../server/engines/personaplex-onnx/sampling.ts';

/** fp16 bits → number, one Math.pow per value (the old torch-zip/engine conversion). */
export function oldHalfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** The old engine's toFloat32 for fp16 logits: a new array per call. */
export function oldToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = oldHalfToFloat(src[i]!);
  return out;
}

/** Top-k by insertion into a sorted array, then temperature softmax and one draw (the old sampling.ts). */
export function oldSampleTopK(logits: Float32Array, offset: number, size: number, p: SamplingParams, rng: Rng): number {
  if (p.temperature <= 0 || p.topK === 1) return oldArgmax(logits, offset, size);
  const k = p.topK > 0 && p.topK < size ? p.topK : size;
  const ids = new Int32Array(k);
  const vals = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < size; i++) {
    const v = logits[offset + i]!;
    if (filled === k && !(v > vals[k - 1]!)) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && v > vals[j - 1]!) {
      vals[j] = vals[j - 1]!;
      ids[j] = ids[j - 1]!;
      j--;
    }
    vals[j] = v;
    ids[j] = i;
  }
  const max = vals[0]!;
  let total = 0;
  const w = new Float64Array(filled);
  for (let i = 0; i < filled; i++) {
    w[i] = Math.exp((vals[i]! - max) / p.temperature);
    total += w[i]!;
  }
  let u = rng.next() * total;
  for (let i = 0; i < filled; i++) {
    u -= w[i]!;
    if (u < 0) return ids[i]!;
  }
  return ids[filled - 1]!;
}

export function oldArgmax(x: Float32Array, offset: number, size: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < size; i++) {
    const v = x[offset + i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}
