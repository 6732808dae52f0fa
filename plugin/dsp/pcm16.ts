/** PCM16 little-endian ↔ float32 for the wire's fallback codec, and frame level for the mic meter. */

export function floatToPcm16(samples: Float32Array, out = new Uint8Array(samples.length * 2)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const c = s >= 1 ? 1 : s <= -1 ? -1 : s !== s ? 0 : s; // clamp, NaN → 0
    view.setInt16(i * 2, c < 0 ? Math.round(c * 0x8000) : Math.round(c * 0x7fff), true);
  }
  return out;
}

export function pcm16ToFloat(bytes: Uint8Array, out = new Float32Array(bytes.byteLength >> 1)): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.min(out.length, bytes.byteLength >> 1);
  for (let i = 0; i < n; i++) {
    const v = view.getInt16(i * 2, true);
    out[i] = v < 0 ? v / 0x8000 : v / 0x7fff;
  }
  return out;
}

export { rms } from '../../protocol/dsp/level.ts';

/** dBFS of an RMS level, floored at −100 so silence stays a finite number. */
export function toDbfs(level: number): number {
  return level > 1e-5 ? 20 * Math.log10(level) : -100;
}
