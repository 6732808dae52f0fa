import { describe, expect, it } from 'vitest';
import { WordAssembler } from '../../protocol/pieces.ts';

function words(pieces: (string | undefined)[]): { text: string; frame: number }[] {
  const a = new WordAssembler();
  const out = new Map<number, { text: string; frame: number }>();
  pieces.forEach((p, frame) => {
    if (p === undefined) return;
    for (const u of a.push(frame, p)) out.set(u.word.index, { text: u.word.text, frame: u.word.frame });
  });
  return [...out.values()];
}

describe('piece → word assembly', () => {
  it('joins pieces split mid-word and keeps the first piece frame', () => {
    expect(words(['▁the', undefined, '▁re', 'act', 'or', '▁hums'])).toEqual([
      { text: 'the', frame: 0 },
      { text: 'reactor', frame: 2 },
      { text: 'hums', frame: 5 },
    ]);
  });

  it('attaches punctuation to the word before it, even after a boundary', () => {
    expect(words(['▁Hello', ',', '▁friend', '▁.', '▁"', 'Go', '!"'])).toEqual([
      { text: 'Hello,', frame: 0 },
      { text: 'friend.', frame: 2 },
      { text: '"Go!"', frame: 5 },
    ]);
  });

  it('keeps an opening mark for the word it opens', () => {
    expect(words(['▁(', 'quietly', ')', '▁yes'])).toEqual([
      { text: '(quietly)', frame: 1 },
      { text: 'yes', frame: 3 },
    ]);
  });

  it('treats a plain space like ▁ (the PersonaPlex server sends spaces)', () => {
    expect(words([' over', ' there'])).toEqual([
      { text: 'over', frame: 0 },
      { text: 'there', frame: 1 },
    ]);
  });

  it('a lone boundary piece makes the next piece start a word', () => {
    expect(words(['▁mission', '▁', 'control'])).toEqual([
      { text: 'mission', frame: 0 },
      { text: 'control', frame: 2 },
    ]);
  });

  it('splits a piece holding several words, all starting in its frame', () => {
    expect(words(['▁of▁the', 'm'])).toEqual([
      { text: 'of', frame: 0 },
      { text: 'them', frame: 0 },
    ]);
  });

  it('ignores punctuation before any word and empty pieces', () => {
    expect(words(['...', '', '▁ok'])).toEqual([{ text: 'ok', frame: 2 }]);
  });

  it('reports whether a piece started or extended a word', () => {
    const a = new WordAssembler();
    expect(a.push(0, '▁re').map((u) => u.started)).toEqual([true]);
    expect(a.push(1, 'act').map((u) => u.started)).toEqual([false]);
    a.close();
    expect(a.push(2, 'or')[0]).toMatchObject({ started: true, word: { text: 'or', frame: 2 } });
  });

  it('keeps digits together across pieces', () => {
    expect(words(['▁3', '.', '14', '▁metres'])).toEqual([
      { text: '3.14', frame: 0 },
      { text: 'metres', frame: 3 },
    ]);
  });
});

describe('control and byte-fallback pieces (PersonaPlex sends BOS/EOS as text)', () => {
  it('never turns <s>, </s> or <0x..> into caption or viseme text', () => {
    expect(words(['<s>', '▁Hello', '</s>', '<0x0A>', 'there', '<0x21>', '<0xE2>', '▁ok'])).toEqual([
      { text: 'Hello', frame: 1 },
      { text: 'there!', frame: 4 },
      { text: 'ok', frame: 7 },
    ]);
  });

  it('a control piece alone gives no word', () => {
    expect(words(['<s>', '</s>', '<unk>'])).toEqual([]);
  });
});
