/**
 * IEEE binary16 ↔ float32. Half → float through a 65,536-entry table: one load per value instead of a
 * Math.pow, which matters at full size (32,000 text logits + 8 × 2,048 audio logits per session per tick, fp16
 * exports).
 * The table is built once per thread (256 KiB) and gives exactly the value of the arithmetic definition.
 */

let table: Float32Array | undefined;

/** The shared lookup table: `halfTable()[bits]` is the float value of those half bits. */
export function halfTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    t[h] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
  }
  table = t;
  return t;
}

export function halfToFloat(h: number): number {
  return halfTable()[h & 0xffff]!;
}

/** Converts `src` into `dst` (same length or longer), without allocating. */
export function halfToFloatInto(src: Uint16Array, dst: Float32Array): Float32Array {
  const t = halfTable();
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = t[src[i]!]!;
  return dst;
}

/** A new float32 copy of half data (for one-time conversions: weight tables, voice files). */
export function halfArrayToFloat(src: Uint16Array): Float32Array {
  return halfToFloatInto(src, new Float32Array(src.length));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE binary16 bits, round to nearest even (as onnxruntime's and numpy's casts). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  let m = x & 0x7fffff;
  if (e === 255) return sign | 0x7c00 | (m ? 0x200 : 0);
  const he = e - 112;
  if (he >= 31) return sign | 0x7c00;
  if (he <= 0) {
    if (he < -10) return sign;
    m |= 0x800000;
    const shift = 14 - he;
    let hm = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && hm & 1)) hm++;
    return sign | hm;
  }
  const hm = m >>> 13;
  const rem = m & 0x1fff;
  let h = sign | (he << 10) | hm;
  if (rem > 0x1000 || (rem === 0x1000 && hm & 1)) h++;
  return h;
}
