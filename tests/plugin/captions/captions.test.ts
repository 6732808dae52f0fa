import { describe, expect, it } from 'vitest';
import { NpcCaptions, type CaptionWordEvent } from '../../../plugin/captions/captions.ts';
import { CaptionOverlay, type DocumentLike, type ElementLike } from '../../../plugin/captions/overlay.ts';
import { FakeStreamClock } from '../support/babylon-head.ts';

const F = 1920;

function setup(opts: Partial<ConstructorParameters<typeof NpcCaptions>[0]> = {}) {
  const clock = new FakeStreamClock();
  const captions = new NpcCaptions({ clock, leadFrames: 2, ...opts });
  const words: CaptionWordEvent[] = [];
  const lines: string[] = [];
  captions.onWordObservable.add((w) => words.push(w));
  captions.onCaptionObservable.add((c) => lines.push(c.text));
  return { clock, captions, words, lines };
}

describe('captions', () => {
  it('shows each word when it is heard on the voice clock, not when it arrives', () => {
    const { clock, captions, words, lines } = setup();
    captions.addPiece(0, '▁Hello');
    captions.addPiece(1, ',');
    captions.addPiece(4, '▁traveller');
    captions.update(16);
    expect(words).toEqual([]); // pieces arrive ahead of the audio
    clock.streamPosition = 2 * F + F / 2 - 1; // just before "Hello" is heard
    captions.update(16);
    expect(captions.text).toBe('');
    clock.streamPosition = 2 * F + F / 2;
    captions.update(16);
    expect(captions.text).toBe('Hello,');
    clock.streamPosition = 6 * F + F / 2;
    captions.update(16);
    expect(captions.text).toBe('Hello, traveller');
    expect(words.map((w) => [w.word, w.at])).toEqual([['Hello,', 2.5 * F], ['traveller', 6.5 * F]]);
    expect(lines).toEqual(['Hello,', 'Hello, traveller']);
  });

  it('grows a shown word when its later pieces arrive', () => {
    const { clock, captions, words } = setup({ leadFrames: 0 });
    captions.addPiece(0, '▁re');
    clock.streamPosition = F;
    captions.update(16);
    expect(captions.text).toBe('re');
    captions.addPiece(1, 'act');
    captions.addPiece(2, 'or');
    captions.update(16);
    expect(captions.text).toBe('reactor');
    expect(words.at(-1)).toMatchObject({ word: 'reactor', revised: true, index: 0 });
  });

  it('clears after a pause without new words', () => {
    const { clock, captions, lines } = setup({ leadFrames: 0, clearAfterMs: 1000 });
    captions.addPiece(0, '▁Done.');
    clock.streamPosition = F;
    captions.update(16);
    for (let i = 0; i < 60; i++) captions.update(16); // 960 ms
    expect(captions.text).toBe('Done.');
    for (let i = 0; i < 3; i++) captions.update(16);
    expect(captions.text).toBe('');
    expect(lines.at(-1)).toBe('');
  });

  it('starts a new line instead of growing past maxChars, and after a finished sentence', () => {
    const { clock, captions } = setup({ leadFrames: 0, maxChars: 20 });
    ['▁one', '▁two', '▁three', '▁four', '▁five', '▁six'].forEach((p, i) => captions.addPiece(i, p));
    clock.streamPosition = 10 * F;
    captions.update(16);
    expect(captions.text).toBe('five six');
    const s = setup({ leadFrames: 0, maxChars: 20 });
    ['▁Right', '▁away.', '▁Go'].forEach((p, i) => s.captions.addPiece(i, p));
    s.clock.streamPosition = 10 * F;
    s.captions.update(16);
    expect(s.captions.text).toBe('Go');
  });

  it('an interruption drops words not yet heard', () => {
    const { clock, captions } = setup({ leadFrames: 0 });
    captions.addPiece(0, '▁Wait');
    captions.addPiece(3, '▁for');
    captions.addPiece(4, '▁me');
    clock.streamPosition = 2 * F;
    captions.update(16);
    captions.flush(); // at the playhead
    captions.addPiece(6, 'Sorry'); // new words after the cut start fresh, even without a boundary
    clock.streamPosition = 8 * F;
    captions.update(16);
    expect(captions.text).toBe('Wait Sorry');
  });

  it('rejects a bad lead and ignores bad pieces', () => {
    expect(() => new NpcCaptions({ clock: new FakeStreamClock(), leadFrames: -2 })).toThrow(/leadFrames/);
    const { clock, captions } = setup({ leadFrames: 0 });
    captions.addPiece(Number.NaN, '▁x');
    captions.addPiece(0, 5 as unknown as string);
    clock.streamPosition = 5 * F;
    captions.update(16);
    expect(captions.text).toBe('');
  });
});

/** Just enough DOM for the overlay. */
class FakeElement implements ElementLike {
  className = '';
  textContent: string | null = null;
  style: Record<string, string> = {};
  childNodes: FakeElement[] = [];
  appendChild(c: ElementLike) {
    this.childNodes.push(c as FakeElement);
  }
  removeChild(c: ElementLike) {
    const i = this.childNodes.indexOf(c as FakeElement);
    if (i < 0) throw new Error('not a child');
    this.childNodes.splice(i, 1);
  }
}

describe('caption overlay', () => {
  it('shows one line per speaker, newest at the bottom, hidden when empty', () => {
    const body = new FakeElement();
    const document: DocumentLike = { body, createElement: () => new FakeElement() };
    const overlay = new CaptionOverlay({ document });
    const a = setup({ leadFrames: 0 });
    const b = setup({ leadFrames: 0 });
    overlay.show(a.captions, 'Reyes');
    const hideB = overlay.show(b.captions, 'Okafor');
    const box = body.childNodes[0];
    expect(box.className).toBe('parley-captions');
    expect(box.childNodes.every((l) => l.style.display === 'none')).toBe(true);
    b.captions.addPiece(0, '▁Copy');
    b.clock.streamPosition = F;
    b.captions.update(16);
    a.captions.addPiece(0, '▁Status?');
    a.clock.streamPosition = F;
    a.captions.update(16);
    expect(box.childNodes.map((l) => l.textContent)).toEqual(['Okafor: Copy', 'Reyes: Status?']);
    hideB();
    expect(box.childNodes.map((l) => l.textContent)).toEqual(['Reyes: Status?']);
    overlay.dispose();
    expect(body.childNodes).toEqual([]);
  });

  it('needs a document outside a browser', () => {
    expect(() => new CaptionOverlay()).toThrow(/needs a DOM document/);
  });
});
