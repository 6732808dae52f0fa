/**
 * Viseme weights at a stream position, from the key list alone (no state: the same position always gives the same
 * shape, whatever the frame rate). Each key's shape rises before the key (anticipation: the lips get ready for the
 * next sound), peaks just after it and hands over to the next key's rise, so neighbours blend and weights always
 * sum to at most 1. Tongue-only consonants (t, d, k, g, n, l) keep part of the nearest vowel's mouth shape, as
 * real lips do.
 */
import { VISEMES, type VisemeKey } from '../../protocol/visemes.ts';

export interface CoarticulationOptions {
  /** how long before a key its shape starts to form, ms (capped at half the previous key's length) */
  anticipationMs: number;
  /** how long after a key its shape peaks, ms (capped at 40% of the key's length) */
  peakMs: number;
  /** share of a tongue-only consonant's weight given to the nearest vowel's shape */
  vowelCarry: number;
  /** how long the last key of a stream is held before resting, ms */
  lastKeyMs: number;
}

export const DEFAULT_COARTICULATION: CoarticulationOptions = {
  anticipationMs: 60,
  peakMs: 25,
  vowelCarry: 0.35,
  lastKeyMs: 200,
};

const SAMPLES_PER_MS = 24;
const SIL = 0;
const id = (name: (typeof VISEMES)[number]): number => VISEMES.indexOf(name);
const TONGUE_ONLY = new Set([id('DD'), id('kk'), id('nn')]);
const VOWELS = new Set([id('aa'), id('E'), id('I'), id('O'), id('U')]);
/** a vowel further than this from a consonant does not shape it */
const CARRY_REACH = 150 * SAMPLES_PER_MS;

const smooth = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/** How far key i's shape has formed at `pos` (0 before its anticipation starts, 1 from its peak on). */
function rise(keys: readonly VisemeKey[], i: number, pos: number, o: CoarticulationOptions): number {
  if (i >= keys.length) return 0;
  const at = keys[i].at;
  const prevLen = i > 0 ? at - keys[i - 1].at : Infinity;
  const len = i + 1 < keys.length ? keys[i + 1].at - at : o.lastKeyMs * SAMPLES_PER_MS;
  const a = Math.min(o.anticipationMs * SAMPLES_PER_MS, 0.5 * prevLen);
  const p = Math.min(o.peakMs * SAMPLES_PER_MS, 0.4 * len);
  if (a + p <= 0) return pos >= at ? 1 : 0;
  return smooth((pos - (at - a)) / (a + p));
}

function nearestVowel(keys: readonly VisemeKey[], i: number): number {
  for (let d = 1; d <= 3; d++) {
    for (const j of [i + d, i - d]) {
      const k = keys[j];
      if (k && VOWELS.has(k.v) && Math.abs(k.at - keys[i].at) <= CARRY_REACH) return k.v;
      if (k && k.v === SIL) continue;
    }
  }
  return -1;
}

/** Write the weight of each of the 15 visemes at `pos` into `out` (index = viseme id; `out[0]` is rest). */
export function visemeWeightsAt(
  keys: readonly VisemeKey[],
  pos: number,
  out: Float32Array,
  o: CoarticulationOptions = DEFAULT_COARTICULATION,
): Float32Array {
  out.fill(0);
  if (keys.length === 0) {
    out[SIL] = 1;
    return out;
  }
  // the key in force, and one before it whose shape may still be handing over
  let i = upperBound(keys, pos) - 1;
  i = Math.max(0, i - 1);
  let total = 0;
  let r = rise(keys, i, pos, o);
  for (; i < keys.length; i++) {
    const next = rise(keys, i + 1, pos, o);
    const w = Math.max(0, r - next);
    if (w > 0) {
      const v = keys[i].v;
      const vowel = o.vowelCarry > 0 && TONGUE_ONLY.has(v) ? nearestVowel(keys, i) : -1;
      if (vowel >= 0) {
        out[v] += w * (1 - o.vowelCarry);
        out[vowel] += w * o.vowelCarry;
      } else out[v] += w;
      total += w;
    }
    if (next === 0) break; // later keys have not started forming
    r = next;
  }
  // before the first key, and after the last key's hold, the mouth rests
  const last = keys[keys.length - 1];
  if (pos > last.at + o.lastKeyMs * SAMPLES_PER_MS && last.v !== SIL) {
    out.fill(0);
    total = 0;
  }
  out[SIL] += Math.max(0, 1 - total);
  return out;
}

function upperBound(keys: readonly VisemeKey[], t: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid].at <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
