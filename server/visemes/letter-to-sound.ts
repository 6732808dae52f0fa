/**
 * Letter-to-sound rules for words the CMU dictionary lacks (names, jargon, made-up words, partial words while a
 * word is still arriving piece by piece). English spelling is irregular; these rules aim at the mouth shapes, not
 * at a perfect transcription: the bench reports their viseme accuracy against the dictionary.
 *
 * Each rule rewrites a grapheme sequence at the scan position, optionally only when the text before (`left`) or
 * after (`right`) matches. Rules for a letter are tried in order, the first that applies wins.
 */
import { isVowel, type Arpabet, type Phone } from './arpabet.ts';

interface Rule {
  g: string;
  p: string; // space-separated ARPAbet, '' for a silent grapheme
  left?: RegExp; // tested against the text before the grapheme
  right?: RegExp; // tested against the text after it
}

const C = '[bcdfghjklmnpqrstvwxz]';
const V = '[aeiouy]';
/** one consonant, then a silent final e (optionally -es / -ed): the vowel before says its name */
const MAGIC_E = new RegExp(`^${C.replace('w', '').replace('x', '')}e(s|d)?$`);
const HAS_VOWEL = /[aeiouy]/;
const WORD_START = /^$/;
const WORD_END = /^$/;

const r = (g: string, p: string, left?: RegExp, right?: RegExp): Rule => ({ g, p, left, right });

const RULES: Record<string, Rule[]> = {
  a: [
    r('augh', 'AO'), r('ai', 'EY'), r('ay', 'EY'), r('au', 'AO'), r('aw', 'AO'),
    r('ar', 'AO R', /w$/), r('are', 'EH R', undefined, WORD_END),
    r('ar', 'EH R', undefined, new RegExp(`^${V}`)), r('ar', 'AA R'),
    r('all', 'AO L', undefined, new RegExp(`^(${C}|$)`)), r('al', 'AO', undefined, /^k/),
    r('a', 'EY', undefined, /^tion/), r('a', 'EY', undefined, MAGIC_E),
    r('a', 'AH', HAS_VOWEL, WORD_END), r('a', 'AH', WORD_START, WORD_END), r('a', 'AE'),
  ],
  b: [r('bb', 'B'), r('b', '', /m$/, WORD_END), r('b', 'B')],
  c: [
    r('chr', 'K R'), r('ch', 'K', /s$/), r('ch', 'CH'), r('ck', 'K'), r('cc', 'K S', undefined, /^[eiy]/),
    r('cia', 'SH AH'), r('cio', 'SH IY OW', undefined, WORD_END), r('cio', 'SH AH'),
    r('c', 'S', undefined, /^[eiy]/), r('c', 'K'),
  ],
  d: [r('dge', 'JH'), r('dd', 'D'), r('d', 'D')],
  e: [
    r('eau', 'OW'), r('eigh', 'EY'), r('ei', 'IY', /c$/), r('ei', 'EY'), r('ey', 'IY', HAS_VOWEL, WORD_END), r('ey', 'EY'),
    r('eer', 'IH R'), r('ere', 'IH R', undefined, WORD_END), r('ear', 'IH R', undefined, WORD_END),
    r('ear', 'ER', undefined, new RegExp(`^${C}`)), r('ee', 'IY'), r('ea', 'IY'), r('ew', 'UW'), r('eu', 'UW'),
    r('er', 'EH R', undefined, new RegExp(`^${V}`)), r('er', 'ER'),
    r('ed', 'D', /[aeiouy].*[aeiouwy]$/, WORD_END), r('ed', 'IH D', /[aeiouy].*[td]$/, WORD_END), r('ed', 'T', /[aeiouy].*([pkfsx]|sh|ch)$/, WORD_END),
    r('ed', 'D', /[aeiouy].*[^aeiouy]$/, WORD_END),
    r('es', 'IH Z', /[aeiouy].*([sxzcg]|sh|ch)$/, WORD_END), r('es', 'S', /[aeiouy].*[ptkf]$/, WORD_END),
    r('es', 'Z', /[aeiouy].*[^aeiouy]$/, WORD_END),
    r('ment', 'M AH N T', HAS_VOWEL, WORD_END), r('el', 'AH L', /[aeiouy].*[^aeiouy]$/, WORD_END),
    r('en', 'AH N', /[aeiouy].*[^aeiouy]$/, WORD_END),
    r('e', '', HAS_VOWEL, WORD_END), r('e', 'IY', undefined, WORD_END), r('e', 'IY', undefined, MAGIC_E), r('e', 'EH'),
  ],
  f: [r('ff', 'F'), r('f', 'F')],
  g: [
    r('gh', 'G', WORD_START), r('gh', ''), r('gg', 'G'), r('gn', 'N', WORD_START), r('gn', 'N', undefined, WORD_END),
    r('g', 'JH', undefined, /^[eiy]/), r('g', 'G'),
  ],
  h: [r('h', 'HH', undefined, new RegExp(`^${V}`)), r('h', '')],
  i: [
    r('igh', 'AY'), r('ie', 'AY', /^[^aeiouy]*$/, WORD_END), r('ie', 'IY'), r('ious', 'IY AH S'),
    r('ir', 'ER', undefined, new RegExp(`^(${C}|$)`)), r('ind', 'AY N D', undefined, WORD_END),
    r('ild', 'AY L D', undefined, WORD_END), r('i', 'AY', undefined, MAGIC_E), r('ia', 'IY AH'),
    r('i', 'IY', HAS_VOWEL, WORD_END), r('i', 'IH'),
  ],
  j: [r('j', 'JH')],
  k: [r('kn', 'N', WORD_START), r('k', 'K')],
  l: [r('ll', 'L'), r('le', 'AH L', new RegExp(`${C}$`), WORD_END), r('l', 'L')],
  m: [r('mm', 'M'), r('mb', 'M', undefined, WORD_END), r('m', 'M')],
  n: [r('ng', 'NG'), r('nk', 'NG K'), r('nn', 'N'), r('n', 'N')],
  o: [
    r('ought', 'AO T'), r('ough', 'OW'), r('ook', 'UH K'), r('oor', 'AO R'), r('oo', 'UW'), r('oa', 'OW'),
    r('oi', 'OY'), r('oy', 'OY'), r('ould', 'UH D'), r('our', 'AW ER'), r('ou', 'AW'), r('ow', 'OW', undefined, WORD_END),
    r('ow', 'AW'), r('or', 'ER', /[aeiouy].*t$/, WORD_END), r('or', 'AO R', undefined, new RegExp(`^(${C}|$)`)),
    r('old', 'OW L D'), r('on', 'AH N', /[aeiouy].*[^aeiouy]$/, WORD_END), r('o', 'OW', undefined, MAGIC_E),
    r('o', 'OW', undefined, WORD_END), r('o', 'AA'),
  ],
  p: [r('ph', 'F'), r('pp', 'P'), r('ps', 'S', WORD_START), r('p', 'P')],
  q: [r('que', 'K', undefined, WORD_END), r('qu', 'K W'), r('q', 'K')],
  r: [r('rr', 'R'), r('rh', 'R'), r('r', 'R')],
  s: [
    r('sch', 'S K'), r('sh', 'SH'), r('sion', 'ZH AH N', new RegExp(`${V}$`)), r('sion', 'SH AH N'), r('sure', 'SH ER'),
    r('ss', 'S'), r('s', 'Z', /[aeiouybdglmnrvw]$/, WORD_END), r('s', 'Z', new RegExp(`${V}$`), new RegExp(`^${V}`)),
    r('s', 'S'),
  ],
  t: [
    r('tion', 'SH AH N'), r('tch', 'CH'), r('th', 'TH'), r('tt', 'T'), r('ture', 'CH ER'), r('tia', 'SH AH'),
    r('t', 'T'),
  ],
  u: [
    r('ur', 'ER', undefined, new RegExp(`^(${C}|$)`)), r('ue', 'UW', undefined, WORD_END), r('ui', 'UW'),
    r('u', 'UW', /[rlj]$/, MAGIC_E), r('u', 'Y UW', undefined, MAGIC_E), r('u', 'Y UW', WORD_START, new RegExp(`^${C}${V}`)),
    r('u', 'AH'),
  ],
  v: [r('v', 'V')],
  w: [r('wh', 'W'), r('wr', 'R', WORD_START), r('w', 'W')],
  x: [r('x', 'Z', WORD_START), r('x', 'K S')],
  y: [
    r('y', 'Y', WORD_START, new RegExp(`^${V}`)), r('y', 'AY', /^[^aeiou]+$/, WORD_END), r('y', 'IY', undefined, WORD_END),
    r('y', 'IH', new RegExp(`${C}$`), new RegExp(`^${C}`)), r('y', 'IY'),
  ],
  z: [r('zz', 'Z'), r('z', 'Z')],
};

/**
 * Pronounce a lower-case word by rule. Characters outside a–z are skipped. The first vowel gets primary stress
 * (the only use of stress here is vowel length).
 */
export function letterToSound(word: string): Phone[] {
  const w = word.toLowerCase().replace(/[^a-z]/g, '');
  const phones: Phone[] = [];
  let i = 0;
  while (i < w.length) {
    const rules = RULES[w[i]];
    const before = w.slice(0, i);
    const rule = rules.find(
      (rl) => w.startsWith(rl.g, i) && (!rl.left || rl.left.test(before)) && (!rl.right || rl.right.test(w.slice(i + rl.g.length))),
    );
    // every letter has a single-letter rule without context, so `rule` is always found
    const use = rule ?? { g: w[i], p: '' };
    for (const sym of use.p.split(' ')) if (sym) phones.push({ p: sym as Arpabet, stress: 0 });
    i += use.g.length;
  }
  const firstVowel = phones.find((ph) => isVowel(ph.p));
  if (firstVowel) firstVowel.stress = 1;
  return phones;
}
