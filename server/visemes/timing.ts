/**
 * Laying a word's visemes out in time. The text stream gives a word's start (its first piece's frame plus the
 * engine's lead) and, once the next word arrives, its end; it never gives phone durations. So each viseme gets its
 * nominal share, scaled to the word's time, capped so the mouth never freezes on one shape; what is left is `sil`.
 */
import { SAMPLE_RATE } from '../../protocol/frame.ts';
import type { VisemeKey } from '../../protocol/visemes.ts';
import { SIL, type VisemeSpan } from './arpabet.ts';

const SAMPLES_PER_MS = SAMPLE_RATE / 1000;

export interface LayoutOptions {
  /** longest one viseme is held (ms); past it the mouth rests (`sil`) until the next word */
  capMs: number;
  /** how far past its nominal length a word may stretch to fill the time before the next word */
  maxStretch: number;
  /** multiplier on nominal durations: > 1 for a slow speaker */
  rate: number;
}

/**
 * Keys for one word starting at sample `start`. Without `end` (the next word has not arrived) the layout is
 * provisional: nominal durations, capped, then `sil`. With `end`, the word fills its time up to `maxStretch`, and
 * is compressed when its time is shorter than nominal.
 */
export function layoutWord(spans: readonly VisemeSpan[], start: number, opts: LayoutOptions, end?: number): VisemeKey[] {
  if (spans.length === 0) return [{ at: Math.round(start), v: SIL }];
  const nominal = spans.map((s) => s.ms * opts.rate);
  const total = nominal.reduce((a, b) => a + b, 0);
  let durations: number[];
  if (end === undefined) {
    durations = nominal.map((d) => Math.min(d, opts.capMs));
  } else {
    const available = (end - start) / SAMPLES_PER_MS;
    if (available <= total) {
      durations = nominal.map((d) => (d * available) / total);
    } else {
      const stretch = Math.min(available / total, opts.maxStretch);
      durations = nominal.map((d) => Math.min(d * stretch, Math.max(d, opts.capMs)));
    }
  }
  const keys: VisemeKey[] = [];
  let t = start;
  spans.forEach((s, i) => {
    keys.push({ at: Math.round(t), v: s.v });
    t += durations[i] * SAMPLES_PER_MS;
  });
  const endAt = Math.round(t);
  if (end === undefined || endAt < Math.round(end)) keys.push({ at: endAt, v: SIL });
  return keys;
}

/**
 * Speaking-rate estimate from finished words: the median ratio of a word's time to its nominal length, over recent
 * words that ran straight into the next one (a ratio far from 1 means a pause, not a rate).
 */
export class RateEstimator {
  private ratios: number[] = [];
  constructor(
    private readonly window = 9,
    private readonly min = 0.7,
    private readonly max = 1.5,
  ) {}

  get rate(): number {
    if (this.ratios.length < 3) return 1;
    const sorted = [...this.ratios].sort((a, b) => a - b);
    return Math.min(this.max, Math.max(this.min, sorted[sorted.length >> 1]));
  }

  observe(nominalMs: number, actualMs: number): void {
    if (nominalMs <= 0) return;
    const ratio = actualMs / nominalMs;
    if (ratio < 0.4 || ratio > 2.2) return;
    this.ratios.push(ratio);
    if (this.ratios.length > this.window) this.ratios.shift();
  }

  reset(): void {
    this.ratios = [];
  }
}
