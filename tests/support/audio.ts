/** Measurements on test audio frames (24 kHz). */
import { rms as blockRms } from '../../protocol/dsp/level.ts';

/** Amplitude of the `freq` component of a frame (Goertzel-style single DFT bin; exact for multiples of 12.5 Hz over 1920 samples). */
export function amplitude(x: Float32Array, freq: number, sampleRate = 24000): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    const a = (2 * Math.PI * freq * i) / sampleRate;
    re += x[i]! * Math.cos(a);
    im -= x[i]! * Math.sin(a);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

/** Root mean square of `x[from, to)`. */
export function rms(x: Float32Array, from = 0, to = x.length): number {
  return blockRms(x.subarray(from, to));
}

/** A sine tone of `samples` samples at `freq` Hz and amplitude `amp`. */
export function tone(samples: number, freq: number, amp = 0.5, sampleRate = 24000): Float32Array {
  const x = new Float32Array(samples);
  for (let i = 0; i < samples; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / sampleRate);
  return x;
}
