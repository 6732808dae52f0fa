import { beforeAll, describe, expect, it } from 'vitest';
import { parseArpabet, phonesToSpans, type Phone } from '../../server/visemes/arpabet.ts';
import { ipaToVisemes } from '../../server/visemes/ipa.ts';
import { letterToSound } from '../../server/visemes/letter-to-sound.ts';
import { spellNumber } from '../../server/visemes/numbers.ts';
import { loadPronunciations, pronounce, pronunciationsLoaded } from '../../server/visemes/pronounce.ts';
import { VISEMES } from '../../protocol/visemes.ts';

const arpa = (phones: Phone[]): string => phones.map((p) => p.p).join(' ');
const vis = (ids: number[]): string => ids.map((v) => VISEMES[v]).join(' ');

describe('numbers', () => {
  it('spells cardinals, decimals, ordinals, years and signs', () => {
    expect(spellNumber('42')).toEqual(['forty', 'two']);
    expect(spellNumber('0')).toEqual(['zero']);
    expect(spellNumber('1,205')).toEqual(['one', 'thousand', 'two', 'hundred', 'five']);
    expect(spellNumber('3.14')).toEqual(['three', 'point', 'one', 'four']);
    expect(spellNumber('22nd')).toEqual(['twenty', 'second']);
    expect(spellNumber('3rd')).toEqual(['third']);
    expect(spellNumber('40th')).toEqual(['fortieth']);
    expect(spellNumber('1999')).toEqual(['nineteen', 'ninety', 'nine']);
    expect(spellNumber('1905')).toEqual(['nineteen', 'oh', 'five']);
    expect(spellNumber('2005')).toEqual(['two', 'thousand', 'five']);
    expect(spellNumber('2024')).toEqual(['twenty', 'twenty', 'four']);
    expect(spellNumber('1990s')).toEqual(['nineteen', 'nineties']);
    expect(spellNumber('-7')).toEqual(['minus', 'seven']);
    expect(spellNumber('1000000')).toEqual(['one', 'million']);
    expect(spellNumber('abc')).toBeNull();
  });
});

describe('letter-to-sound fallback', () => {
  it('handles common spelling patterns', () => {
    expect(arpa(letterToSound('station'))).toBe('S T EY SH AH N');
    expect(arpa(letterToSound('knight'))).toBe('N AY T');
    expect(arpa(letterToSound('phone'))).toBe('F OW N');
    expect(arpa(letterToSound('cheese'))).toBe('CH IY Z');
    expect(arpa(letterToSound('thinking'))).toBe('TH IH NG K IH NG');
    expect(arpa(letterToSound('jumped'))).toBe('JH AH M P T');
    expect(arpa(letterToSound('wanted'))).toBe('W AE N T IH D');
    expect(arpa(letterToSound('my'))).toBe('M AY');
    expect(arpa(letterToSound('happy'))).toBe('HH AE P IY');
  });

  it('marks the first vowel stressed and never fails on odd input', () => {
    expect(letterToSound('blorp')[2]).toEqual({ p: 'AO', stress: 1 });
    expect(letterToSound('')).toEqual([]);
    expect(letterToSound('ß∂ƒ')).toEqual([]);
  });
});

describe('pronunciation', () => {
  beforeAll(async () => {
    await loadPronunciations();
  });

  it('uses the CMU dictionary once loaded', () => {
    expect(pronunciationsLoaded()).toBe(true);
    expect(arpa(pronounce('reactor').phones)).toBe('R IY AE K T ER');
    expect(arpa(pronounce('Hello,').phones)).toBe('HH AH L OW');
  });

  it('falls back to rules for words the dictionary lacks, and spells acronyms', () => {
    expect(arpa(pronounce('blorptastic').phones)).toBe(arpa(letterToSound('blorptastic')));
    expect(arpa(pronounce('NPC').phones)).toBe('EH N P IY S IY');
    expect(arpa(pronounce("NPC's").phones)).toBe('EH N P IY S IY Z');
  });

  it('spells numbers, currency, percent and hyphenated words', () => {
    expect(arpa(pronounce('42').phones)).toBe('F AO R T IY T UW');
    expect(arpa(pronounce('$5').phones)).toBe('F AY V D AA L ER Z');
    expect(arpa(pronounce('50%').phones)).toBe('F IH F T IY P ER S EH N T');
    expect(arpa(pronounce('well-known').phones)).toBe('W EH L N OW N');
    expect(arpa(pronounce('3D').phones)).toBe('TH R IY D IY');
  });

  it('reads pause hints from punctuation', () => {
    expect(pronounce('night.').pause).toBe('sentence');
    expect(pronounce('night?"').pause).toBe('sentence');
    expect(pronounce('well,').pause).toBe('comma');
    expect(pronounce('well').pause).toBe('none');
  });

  it('gives no phones, not an error, for unpronounceable text', () => {
    expect(pronounce('🙂').phones).toEqual([]);
    expect(pronounce('...').phones).toEqual([]);
    expect(pronounce('').phones).toEqual([]);
  });
});

describe('visemes', () => {
  it('maps ARPAbet to Oculus visemes, splitting diphthongs and merging repeats', () => {
    const spans = phonesToSpans(parseArpabet('M AY1 N D'));
    expect(vis(spans.map((s) => s.v))).toBe('PP aa I nn DD');
    // "bomb": B and M share PP; the AA in between keeps them apart
    expect(vis(phonesToSpans(parseArpabet('B AA1 M')).map((s) => s.v))).toBe('PP aa PP');
    // "up by": P B M merge into one closure
    expect(vis(phonesToSpans(parseArpabet('AH1 P B AY1')).map((s) => s.v))).toBe('aa PP aa I');
  });

  it('shortens unstressed vowels', () => {
    const [stressed] = phonesToSpans(parseArpabet('AH1'));
    const [unstressed] = phonesToSpans(parseArpabet('AH0'));
    expect(unstressed.ms).toBeLessThan(stressed.ms);
  });

  it('maps espeak IPA to visemes', () => {
    expect(vis(ipaToVisemes('ˈaɪ'))).toBe('aa I');
    expect(vis(ipaToVisemes('dʒ'))).toBe('CH');
    expect(vis(ipaToVisemes('ˌɑːɹ'))).toBe('aa RR');
    expect(vis(ipaToVisemes('ð'))).toBe('TH');
    expect(vis(ipaToVisemes('ɾ'))).toBe('DD');
    expect(vis(ipaToVisemes('ʔ'))).toBe('');
  });
});
