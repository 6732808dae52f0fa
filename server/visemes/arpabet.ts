/**
 * ARPAbet phones (the CMU dictionary's alphabet) → Oculus visemes, with the nominal duration each phone takes in
 * connected speech. Durations are only relative weights for spreading a word over its time; the timeline scales
 * them to the time the text stream gives the word.
 */
import { VISEMES, type Viseme, type VisemeId } from '../../protocol/visemes.ts';

export const ARPABET = [
  'AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW',
  'B', 'CH', 'D', 'DH', 'F', 'G', 'HH', 'JH', 'K', 'L', 'M', 'N', 'NG', 'P', 'R', 'S', 'SH', 'T', 'TH', 'V', 'W',
  'Y', 'Z', 'ZH',
] as const;
export type Arpabet = (typeof ARPABET)[number];

/** One phone of a pronunciation; stress as in the CMU dictionary (0 none, 1 primary, 2 secondary; consonants 0). */
export interface Phone {
  p: Arpabet;
  stress: 0 | 1 | 2;
}

const VOWELS = new Set<string>(['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW']);
export const isVowel = (p: Arpabet): boolean => VOWELS.has(p);
const ARPABET_SET = new Set<string>(ARPABET);
export const isArpabet = (s: string): s is Arpabet => ARPABET_SET.has(s);

/**
 * Mouth shapes per phone. Diphthongs move between two shapes, so they give two visemes; `split` is the share of
 * the phone's time the first shape holds.
 */
const SHAPES: Record<Arpabet, Viseme[]> = {
  P: ['PP'], B: ['PP'], M: ['PP'],
  F: ['FF'], V: ['FF'],
  TH: ['TH'], DH: ['TH'],
  T: ['DD'], D: ['DD'],
  K: ['kk'], G: ['kk'], NG: ['kk'], HH: ['kk'],
  CH: ['CH'], JH: ['CH'], SH: ['CH'], ZH: ['CH'],
  S: ['SS'], Z: ['SS'],
  N: ['nn'], L: ['nn'],
  R: ['RR'], ER: ['RR'],
  AA: ['aa'], AE: ['aa'], AH: ['aa'],
  AY: ['aa', 'I'], AW: ['aa', 'U'], OY: ['O', 'I'], EY: ['E', 'I'], OW: ['O', 'U'],
  EH: ['E'],
  IH: ['I'], IY: ['I'], Y: ['I'],
  AO: ['O'],
  UH: ['U'], UW: ['U'], W: ['U'],
};
/** Share of a two-shape phone's time spent in its first shape. */
export const DIPHTHONG_SPLIT = 0.6;

/** Nominal durations in ms (stressed vowels; unstressed vowels are shortened, see phoneMs). */
const NOMINAL_MS: Record<Arpabet, number> = {
  AA: 120, AE: 120, AH: 90, AO: 120, EH: 100, IH: 85, IY: 105, UH: 85, UW: 110, ER: 110,
  AY: 150, AW: 150, EY: 130, OY: 160, OW: 130,
  P: 70, B: 60, T: 60, D: 55, K: 70, G: 60,
  CH: 95, JH: 85, F: 85, V: 60, TH: 75, DH: 45, S: 95, Z: 75, SH: 100, ZH: 80, HH: 55,
  M: 70, N: 60, NG: 70, L: 60, R: 60, W: 55, Y: 50,
};
const UNSTRESSED_VOWEL_FACTOR = 0.6;

export function phoneMs(phone: Phone): number {
  const ms = NOMINAL_MS[phone.p];
  return isVowel(phone.p) && phone.stress === 0 ? ms * UNSTRESSED_VOWEL_FACTOR : ms;
}

/** A viseme with its nominal share of time, the unit the timeline spreads over a word. */
export interface VisemeSpan {
  v: VisemeId;
  ms: number;
}

export const visemeId = (v: Viseme): VisemeId => VISEMES.indexOf(v);
export const SIL: VisemeId = 0;

/** Phones → viseme spans; neighbouring spans with the same shape are merged (the mouth does not move between them). */
export function phonesToSpans(phones: readonly Phone[]): VisemeSpan[] {
  const out: VisemeSpan[] = [];
  for (const phone of phones) {
    const shapes = SHAPES[phone.p];
    const ms = phoneMs(phone);
    const parts = shapes.length === 1 ? [ms] : [ms * DIPHTHONG_SPLIT, ms * (1 - DIPHTHONG_SPLIT)];
    shapes.forEach((shape, i) => pushSpan(out, visemeId(shape), parts[i]));
  }
  return out;
}

export function pushSpan(out: VisemeSpan[], v: VisemeId, ms: number): void {
  const last = out[out.length - 1];
  if (last && last.v === v) last.ms += ms;
  else out.push({ v, ms });
}

/** Parse a CMU dictionary entry ("HH AH0 L OW1"). Unknown symbols are skipped rather than trusted. */
export function parseArpabet(entry: string): Phone[] {
  const phones: Phone[] = [];
  for (const sym of entry.trim().split(/\s+/)) {
    const m = /^([A-Z]+)([012])?$/.exec(sym);
    if (!m || !isArpabet(m[1])) continue;
    phones.push({ p: m[1], stress: (m[2] ? Number(m[2]) : 0) as 0 | 1 | 2 });
  }
  return phones;
}
