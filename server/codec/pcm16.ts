import { FRAME_SAMPLES } from '../../protocol/frame.ts';

/** Float samples → little-endian PCM16 bytes, clamped (never wraps around). */
export function floatToPcm16(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const s = v !== v ? 0 : v >= 1 ? 32767 : v <= -1 ? -32768 : Math.round(v * 32767);
    view.setInt16(i * 2, s, true);
  }
  return out;
}

/** Little-endian PCM16 bytes (any alignment, e.g. a Node Buffer view) → float samples. */
export function pcm16ToFloat(bytes: Uint8Array, expectSamples = FRAME_SAMPLES): Float32Array {
  if (bytes.byteLength !== expectSamples * 2) {
    throw new Error(`pcm16 frame of ${bytes.byteLength} bytes, expected ${expectSamples * 2}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(expectSamples);
  for (let i = 0; i < expectSamples; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}
