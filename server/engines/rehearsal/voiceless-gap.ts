/**
 * Whether a stretch of a voice between two vowels is voiceless breath, as the /h/ of "uh-huh" is, rather than a voiced
 * consonant such as the /l d/ of "hold on". Both can decode as the same vowel, /h/, vowel ("aha"); the voicing of the
 * middle tells them apart where the phones do not: on the bench's synthetic voices the /h/ of "uh-huh" had a
 * periodicity of 0.28–0.56 and the middle of the tests' voice's "Hold on." 0.97–0.98.
 */
import { loudestRms, rms } from '../../../protocol/dsp/level.ts';

/** analysis window for the periodicity (30 ms: two periods of a 70 Hz voice) */
const WINDOW_S = 0.03;
/** pitch range a voice's periods are looked for in */
const MIN_F0 = 70;
const MAX_F0 = 400;
/** at most this periodic to count as voiceless (breath); a voiced consonant measures 0.9 and more */
export const VOICELESS_MAX_PERIODICITY = 0.7;
/** at least this loud against the loudest window of the voice: breath, not a pause (−30 dB) */
const GAP_MIN_LEVEL = 10 ** (-30 / 20);

/**
 * Periodicity of `x` around `centre` (samples): the largest normalised autocorrelation over the lags of a voice's
 * pitch, 0 (noise) to 1 (a steady period), in a WINDOW_S window.
 */
export function periodicity(x: Float32Array, centre: number, rate: number): number {
  const half = Math.round((WINDOW_S * rate) / 2);
  const w = x.subarray(Math.max(0, centre - half), Math.min(x.length, centre + half));
  const minLag = Math.floor(rate / MAX_F0);
  const maxLag = Math.min(Math.ceil(rate / MIN_F0), w.length - minLag);
  let best = 0;
  for (let lag = minLag; lag <= maxLag; lag++) {
    let num = 0;
    let e1 = 0;
    let e2 = 0;
    for (let i = 0; i + lag < w.length; i++) {
      num += w[i]! * w[i + lag]!;
      e1 += w[i]! * w[i]!;
      e2 += w[i + lag]! * w[i + lag]!;
    }
    if (e1 > 0 && e2 > 0) best = Math.max(best, num / Math.sqrt(e1 * e2));
  }
  return best;
}

/**
 * Whether `x[from, to)` (samples at `rate`) is breath: audible against the loudest 30 ms of `x`, and on average no
 * more periodic than VOICELESS_MAX_PERIODICITY over windows 10 ms apart.
 */
export function isVoicelessGap(x: Float32Array, from: number, to: number, rate: number): boolean {
  if (!(to > from) || from < 0 || to > x.length) return false;
  const step = Math.round(rate / 100);
  const loudest = loudestRms(x, Math.round(WINDOW_S * rate), step);
  if (loudest === 0 || rms(x.subarray(from, to)) < loudest * GAP_MIN_LEVEL) return false;
  // window centres 10 ms apart across the span; a span shorter than half a step gets its middle
  const centres: number[] = [];
  for (let c = from + Math.round(step / 2); c < to; c += step) centres.push(c);
  if (centres.length === 0) centres.push(Math.round((from + to) / 2));
  const mean = centres.reduce((sum, c) => sum + periodicity(x, c, rate), 0) / centres.length;
  return mean <= VOICELESS_MAX_PERIODICITY;
}
