/** Sum of the squares of a block of samples (its energy). */
export function sumOfSquares(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return sum;
}

/** Mean square of a block of samples (0 for an empty block). */
export function meanSquare(samples: Float32Array): number {
  return samples.length ? sumOfSquares(samples) / samples.length : 0;
}

/** Root-mean-square level of a block of samples, 0..1 for full-scale input (0 for an empty block). */
export function rms(samples: Float32Array): number {
  return Math.sqrt(meanSquare(samples));
}

/** The RMS of the loudest `window` samples of `x`, over windows `hop` apart (0 when `x` is shorter than a window). */
export function loudestRms(x: Float32Array, window: number, hop: number): number {
  let loudest = 0;
  for (let i = 0; i + window <= x.length; i += hop) loudest = Math.max(loudest, rms(x.subarray(i, i + window)));
  return loudest;
}
