/**
 * Lip-sync accuracy against ground truth: the phonemes an engine's TTS really spoke (IPA with sample onsets, as in
 * StepOutput.phonemes) against the viseme keys the timeline derived from the text pieces alone.
 *
 * - Onset error: both key lists are reduced to their sequence of mouth-shape changes (rests left out, repeats
 *   merged) and aligned by edit distance with a time penalty; for each aligned pair (same shape, or a different
 *   shape for the same sound), predicted onset − true onset, in ms.
 * - Frame agreement: the share of 60 Hz video frames, over the speech, showing the same viseme in both.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import type { VisemeKey, VisemeTrack } from '../../protocol/visemes.ts';
import { ipaToVisemes } from '../../server/visemes/ipa.ts';
import { VisemeTimeline, type VisemeTimelineOptions } from '../../server/visemes/timeline.ts';
import type { SpokenFrame } from './espeak-speaker.ts';

const SIL = 0;
const MS = SAMPLE_RATE / 1000;
/** a phoneme with no next event is given at most this long */
const LAST_PHONEME_MS = 250;

/** Ground-truth viseme keys from per-frame phoneme events; '_' or '' is a pause. Two shapes share the phoneme 60/40. */
export function truthKeys(frames: readonly SpokenFrame[]): VisemeKey[] {
  const events: { at: number; ipa: string }[] = [];
  frames.forEach((f, i) => {
    for (const p of f.phonemes ?? []) events.push({ at: i * FRAME_SAMPLES + p.offset, ipa: p.ipa });
  });
  events.sort((a, b) => a.at - b.at);
  const keys: VisemeKey[] = [];
  const push = (at: number, v: number) => {
    const last = keys[keys.length - 1];
    if (last && last.at === at) keys[keys.length - 1] = { at, v };
    else if (!last || last.v !== v) keys.push({ at, v });
  };
  events.forEach((e, i) => {
    const next = events[i + 1]?.at ?? e.at + LAST_PHONEME_MS * MS;
    const end = Math.min(next, e.at + LAST_PHONEME_MS * MS);
    const vis = e.ipa === '_' ? [] : ipaToVisemes(e.ipa);
    if (vis.length === 0) {
      push(e.at, SIL);
      return;
    }
    const shares = vis.length === 2 ? [0.6, 0.4] : vis.map(() => 1 / vis.length);
    let t = e.at;
    vis.forEach((v, j) => {
      push(Math.round(t), v);
      t += shares[j] * (end - e.at);
    });
    if (end < next) push(Math.round(end), SIL);
  });
  return keys;
}

/** Run a timeline over the frames' text pieces; return what a client holds after applying every track. */
export function predictedKeys(frames: readonly SpokenFrame[], opts: VisemeTimelineOptions): VisemeKey[] {
  const tl = new VisemeTimeline(opts);
  let held: VisemeKey[] = [];
  frames.forEach((f, i) => {
    const track: VisemeTrack | undefined = tl.onFrame(i, f.text);
    if (track) held = [...held.filter((k) => k.at < track.from), ...track.keys];
  });
  return held;
}

/** Mouth-shape changes: rests dropped, repeats merged. */
function onsets(keys: readonly VisemeKey[]): VisemeKey[] {
  const out: VisemeKey[] = [];
  let prev = -1;
  for (const k of keys) {
    if (k.v !== SIL && k.v !== prev) out.push(k);
    prev = k.v;
  }
  return out;
}

export interface Alignment {
  /** predicted − true onset, ms, per aligned pair */
  errorsMs: number[];
  /** aligned pairs with the same viseme */
  same: number;
  truthCount: number;
  predictedCount: number;
}

/** pairs further apart than this are not the same sound */
const MAX_PAIR_MS = 400;

/** Edit-distance alignment of the two onset sequences; time distance breaks ties and forbids far-apart pairs. */
export function alignOnsets(truth: readonly VisemeKey[], predicted: readonly VisemeKey[]): Alignment {
  const a = onsets(truth);
  const b = onsets(predicted);
  const n = a.length;
  const m = b.length;
  const GAP = 1;
  const cost = new Float64Array((n + 1) * (m + 1));
  const idx = (i: number, j: number) => i * (m + 1) + j;
  for (let i = 0; i <= n; i++) cost[idx(i, 0)] = i * GAP;
  for (let j = 0; j <= m; j++) cost[idx(0, j)] = j * GAP;
  const pairCost = (i: number, j: number) => {
    const dt = Math.abs(a[i].at - b[j].at) / MS;
    if (dt > MAX_PAIR_MS) return Infinity;
    return (a[i].v === b[j].v ? 0 : 1.2) + dt / MAX_PAIR_MS;
  };
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      cost[idx(i, j)] = Math.min(
        cost[idx(i - 1, j - 1)] + pairCost(i - 1, j - 1),
        cost[idx(i - 1, j)] + GAP,
        cost[idx(i, j - 1)] + GAP,
      );
    }
  }
  const errorsMs: number[] = [];
  let same = 0;
  for (let i = n, j = m; i > 0 && j > 0; ) {
    const c = cost[idx(i, j)];
    if (c === cost[idx(i - 1, j - 1)] + pairCost(i - 1, j - 1)) {
      errorsMs.push((b[j - 1].at - a[i - 1].at) / MS);
      if (a[i - 1].v === b[j - 1].v) same++;
      i--;
      j--;
    } else if (c === cost[idx(i - 1, j)] + GAP) i--;
    else j--;
  }
  return { errorsMs: errorsMs.reverse(), same, truthCount: n, predictedCount: m };
}

function visemeAt(keys: readonly VisemeKey[], at: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  let v = SIL;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid].at <= at) {
      v = keys[mid].v;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return v;
}

/** Share of 60 Hz frames between the first and last true non-rest key showing the same viseme. */
export function frameAgreement(truth: readonly VisemeKey[], predicted: readonly VisemeKey[]): { agree: number; total: number } {
  const speech = truth.filter((k) => k.v !== SIL);
  if (speech.length === 0) return { agree: 0, total: 0 };
  const start = speech[0].at;
  const end = truth.find((k) => k.at > speech[speech.length - 1].at)?.at ?? speech[speech.length - 1].at;
  let agree = 0;
  let total = 0;
  for (let t = start; t < end; t += SAMPLE_RATE / 60) {
    total++;
    if (visemeAt(truth, t) === visemeAt(predicted, t)) agree++;
  }
  return { agree, total };
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
