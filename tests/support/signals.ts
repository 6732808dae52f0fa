/** Measurements on test audio frames (24 kHz). */

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
