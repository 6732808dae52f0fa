/**
 * Word text → phones: the CMU pronouncing dictionary (135k words, loaded once, lazily: it is 4.7 MB of JS), numbers
 * spelled out, acronyms spelled letter by letter, and letter-to-sound rules for everything else. Until the
 * dictionary has loaded, words go through the rules, so nothing ever waits on it.
 */
import { parseArpabet, type Phone } from './arpabet.ts';
import { letterToSound } from './letter-to-sound.ts';
import { spellNumber } from './numbers.ts';

let dictionary: Readonly<Record<string, string>> | undefined;
let loading: Promise<void> | undefined;

/** Start (or join) loading the dictionary. Resolves when it is in memory; a failed load leaves the rules in use. */
export function loadPronunciations(): Promise<void> {
  loading ??= import('cmu-pronouncing-dictionary').then(
    (mod) => {
      dictionary = mod.dictionary;
    },
    (err: unknown) => {
      loading = undefined; // let a later call retry
      throw new Error(`cmu-pronouncing-dictionary failed to load: ${(err as Error).message}`);
    },
  );
  return loading;
}

export const pronunciationsLoaded = (): boolean => dictionary !== undefined;

const LETTER_NAMES: Record<string, string> = {
  a: 'EY1', b: 'B IY1', c: 'S IY1', d: 'D IY1', e: 'IY1', f: 'EH1 F', g: 'JH IY1', h: 'EY1 CH', i: 'AY1', j: 'JH EY1',
  k: 'K EY1', l: 'EH1 L', m: 'EH1 M', n: 'EH1 N', o: 'OW1', p: 'P IY1', q: 'K Y UW1', r: 'AA1 R', s: 'EH1 S', t: 'T IY1',
  u: 'Y UW1', v: 'V IY1', w: 'D AH1 B AH0 L Y UW0', x: 'EH1 K S', y: 'W AY1', z: 'Z IY1',
};

const SYMBOL_WORDS: Record<string, string[]> = {
  '&': ['and'], '%': ['percent'], '+': ['plus'], '@': ['at'], '#': ['number'], '=': ['equals'], '°': ['degrees'],
  '$': ['dollars'], '€': ['euros'], '£': ['pounds'],
};

/** How the word ended, as a hint for timing: the speaker likely pauses after it. */
export type PauseHint = 'none' | 'comma' | 'sentence';

export interface Pronunciation {
  phones: Phone[];
  pause: PauseHint;
}

const spellLetters = (letters: string): Phone[] =>
  [...letters.toLowerCase()].flatMap((ch) => (LETTER_NAMES[ch] ? parseArpabet(LETTER_NAMES[ch]) : []));

function lookup(word: string): Phone[] | undefined {
  const entry = dictionary?.[word];
  return entry === undefined ? undefined : parseArpabet(entry);
}

/** One run of letters (possibly with an inner apostrophe), as it was written. */
function pronounceLetters(original: string): Phone[] {
  const word = original.toLowerCase();
  const known = lookup(word);
  if (known) return known;
  // possessive or contraction the dictionary lacks: "npc's" = "npc" + Z
  const poss = /^(.+)'s$/.exec(word);
  if (poss) {
    const base = pronounceLetters(original.slice(0, -2));
    return [...base, { p: 'Z', stress: 0 }];
  }
  const bare = word.replace(/'/g, '');
  const isAcronym = /^[A-Z]{2,5}$/.test(original.replace(/'/g, '')) || !/[aeiouy]/.test(bare);
  if (isAcronym && bare.length <= 6) return spellLetters(bare);
  return letterToSound(bare);
}

/** Split a word into spoken parts: numbers, letter runs and symbols. */
function spokenParts(token: string): string[] {
  const parts: string[] = [];
  // symbols around numbers: "$5" → five dollars, "50%" → fifty percent
  const currency = /^([$€£])(\d[\d,.]*)$/.exec(token);
  if (currency) return [currency[2], currency[1]];
  for (const m of token.matchAll(/[+-]?\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th|s)?(?![a-z])|\d+|[a-z]+(?:'[a-z]+)*|[&%+@#=°$€£]/gi)) {
    parts.push(m[0]);
  }
  return parts;
}

function pronouncePart(part: string): Phone[] {
  const number = /\d/.test(part) ? spellNumber(part.replace(/^\+/, '')) : null;
  if (number) return number.flatMap((w) => lookup(w) ?? letterToSound(w));
  if (/^\d+$/.test(part)) return [...part].flatMap((d) => pronouncePart(d));
  const symbol = SYMBOL_WORDS[part];
  if (symbol) return symbol.flatMap((w) => lookup(w) ?? letterToSound(w));
  return pronounceLetters(part);
}

const SENTENCE_END = /[.!?;:…]["')\]]*$/;
const COMMA_END = /[,—–]["')\]]*$/;

/**
 * Pronounce one written word as it came from the text stream ("Hello,", "42", "reactor's", "well-known").
 * Unpronounceable input (emoji, stray symbols) gives no phones, never an error.
 */
export function pronounce(written: string): Pronunciation {
  if (!dictionary) void loadPronunciations().catch(() => undefined);
  const text = written.normalize('NFKC').replace(/[’‘`]/g, "'").trim();
  const pause: PauseHint = SENTENCE_END.test(text) ? 'sentence' : COMMA_END.test(text) ? 'comma' : 'none';
  const phones: Phone[] = [];
  for (const chunk of text.split(/[\s/\-–—_]+/)) {
    // trim punctuation that is not part of the word, keep inner apostrophes and number punctuation
    const core = chunk.replace(/^[^\p{L}\p{N}$€£#@+-]+/u, '').replace(/[^\p{L}\p{N}%°]+$/u, '');
    if (!core) continue;
    const known = lookup(core.toLowerCase());
    if (known) {
      phones.push(...known);
      continue;
    }
    for (const part of spokenParts(core)) phones.push(...pronouncePart(part));
  }
  return { phones, pause };
}
