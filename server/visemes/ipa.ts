/**
 * IPA phoneme strings (as espeak-ng reports them, e.g. "ˈaɪ", "dʒ", "ˌɑːɹ") → Oculus visemes. Engines that know
 * their phonemes (the rehearsal engine's TTS) report IPA, and the lip-sync measurement turns that ground truth
 * into visemes with this table, by the same articulatory rules as the ARPAbet table.
 */
import type { Viseme, VisemeId } from '../../protocol/visemes.ts';
import { visemeId } from './arpabet.ts';

const MULTI: Record<string, Viseme[]> = {
  tʃ: ['CH'], dʒ: ['CH'], aɪ: ['aa', 'I'], aʊ: ['aa', 'U'], ɔɪ: ['O', 'I'], oʊ: ['O', 'U'], əʊ: ['O', 'U'], eɪ: ['E', 'I'],
};
const SINGLE: Record<string, Viseme> = {
  p: 'PP', b: 'PP', m: 'PP', ɱ: 'PP',
  f: 'FF', v: 'FF',
  θ: 'TH', ð: 'TH',
  t: 'DD', d: 'DD', ɾ: 'DD',
  k: 'kk', g: 'kk', ɡ: 'kk', ŋ: 'kk', h: 'kk', x: 'kk', ɣ: 'kk',
  ʃ: 'CH', ʒ: 'CH', ç: 'CH',
  s: 'SS', z: 'SS',
  n: 'nn', l: 'nn', ɫ: 'nn', ɬ: 'nn',
  ɹ: 'RR', r: 'RR', ɻ: 'RR', ɚ: 'RR', ɝ: 'RR',
  ɑ: 'aa', a: 'aa', æ: 'aa', ʌ: 'aa', ə: 'aa', ɐ: 'aa',
  ɛ: 'E', e: 'E', ɜ: 'E',
  ɪ: 'I', i: 'I', j: 'I', ᵻ: 'I', y: 'I',
  ɔ: 'O', o: 'O', ɒ: 'O', ɵ: 'O',
  ʊ: 'U', u: 'U', w: 'U', ʍ: 'U',
};
/** stress, length, syllabic and other marks that do not change the mouth shape */
const MARKS = /[ˈˌːˑ̩̯̃ʰʲ'.\-]/gu;

/** Visemes for one IPA phoneme string, in order; symbols with no mouth shape of their own (ʔ) give none. */
export function ipaToVisemes(ipa: string): VisemeId[] {
  const s = ipa.normalize('NFD').replace(MARKS, '');
  const out: VisemeId[] = [];
  for (let i = 0; i < s.length; ) {
    const two = s.slice(i, i + 2);
    if (MULTI[two]) {
      out.push(...MULTI[two].map(visemeId));
      i += 2;
    } else {
      const v = SINGLE[s[i]];
      if (v) out.push(visemeId(v));
      i += 1;
    }
  }
  return out;
}
