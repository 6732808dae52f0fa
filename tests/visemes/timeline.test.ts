import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { VISEMES, type VisemeKey, type VisemeTrack } from '../../protocol/visemes.ts';
import { loadPronunciations } from '../../server/visemes/pronounce.ts';
import { VisemeTimeline } from '../../server/visemes/timeline.ts';

const SIL = 0;
const ms = (samples: number): number => samples / 24;

/** What a client holds after applying tracks in order (keys from `from` on replaced). */
function apply(held: VisemeKey[], track: VisemeTrack): VisemeKey[] {
  return [...held.filter((k) => k.at < track.from), ...track.keys];
}

function run(tl: VisemeTimeline, pieces: Record<number, string>, frames: number) {
  const tracks: { frame: number; track: VisemeTrack }[] = [];
  let held: VisemeKey[] = [];
  for (let f = 0; f < frames; f++) {
    const track = tl.onFrame(f, pieces[f]);
    if (track) {
      tracks.push({ frame: f, track });
      held = apply(held, track);
    }
  }
  return { tracks, held };
}

const names = (keys: VisemeKey[]): string => keys.map((k) => VISEMES[k.v]).join(' ');

beforeAll(async () => {
  await loadPronunciations();
});

describe('VisemeTimeline timing', () => {
  it('starts a word at (first piece frame + lead) × 1920 + wordOffset', () => {
    const tl = new VisemeTimeline({ leadFrames: 2, wordOffset: 100 });
    expect(tl.onFrame(0)).toBeUndefined();
    const track = tl.onFrame(3, '▁mind')!;
    expect(track.from).toBe(5 * FRAME_SAMPLES + 100);
    expect(track.keys[0].at).toBe(5 * FRAME_SAMPLES + 100);
    expect(names(track.keys)).toBe('PP aa I nn DD sil');
  });

  it('keys are time-ordered and provisional keys are capped per viseme, ending in sil', () => {
    const tl = new VisemeTimeline({ leadFrames: 0, wordOffset: 0, capMs: 100 });
    const track = tl.onFrame(0, '▁bough')!; // B AW: the diphthong's nominal length is over the cap
    const gaps = track.keys.slice(1).map((k, i) => ms(k.at - track.keys[i].at));
    for (const g of gaps) expect(g).toBeLessThanOrEqual(100 + 1e-6);
    expect(track.keys[track.keys.length - 1].v).toBe(SIL);
  });

  it('revises a word from its start when the next word fixes its end (stretch, then rest)', () => {
    const tl = new VisemeTimeline({ leadFrames: 1, wordOffset: 0, maxStretch: 1.5, adaptRate: false });
    const first = tl.onFrame(0, '▁go')!;
    const provisionalEnd = first.keys[first.keys.length - 1].at; // nominal length
    const nominal = provisionalEnd - first.keys[0].at;
    expect(tl.onFrame(1)).toBeUndefined();
    // the next word comes far later: "go" stretches at most 1.5× and then rests
    const second = tl.onFrame(20, '▁now')!;
    expect(second.from).toBe(FRAME_SAMPLES); // re-sent from the first word's start
    const goKeys = second.keys.filter((k) => k.at < 21 * FRAME_SAMPLES);
    expect(names(goKeys)).toBe('kk O U sil');
    const silAt = goKeys[goKeys.length - 1].at - FRAME_SAMPLES;
    expect(silAt).toBeGreaterThan(nominal * 1.4);
    expect(silAt).toBeLessThanOrEqual(nominal * 1.5 + 1);
    expect(second.keys.find((k) => k.at === 21 * FRAME_SAMPLES)?.v).toBe(VISEMES.indexOf('nn'));
  });

  it('compresses a word into a short gap, leaving no rest before the next word', () => {
    const tl = new VisemeTimeline({ leadFrames: 0, wordOffset: 0, adaptRate: false });
    tl.onFrame(0, '▁extraordinary');
    const track = tl.onFrame(2, '▁ships')!; // 160 ms for a long word
    const first = track.keys.filter((k) => k.at < 2 * FRAME_SAMPLES);
    expect(first.some((k) => k.v === SIL)).toBe(false);
    expect(first.length).toBeGreaterThan(6);
    expect(track.keys.find((k) => k.at === 2 * FRAME_SAMPLES)?.v).toBe(VISEMES.indexOf('CH'));
  });

  it('stretches less before punctuation: a sentence end rests sooner', () => {
    const plain = new VisemeTimeline({ leadFrames: 0, wordOffset: 0, adaptRate: false });
    const pause = new VisemeTimeline({ leadFrames: 0, wordOffset: 0, adaptRate: false });
    plain.onFrame(0, '▁home');
    pause.onFrame(0, '▁home');
    pause.onFrame(1, '.');
    const restAt = (t: VisemeTrack) => t.keys.filter((k) => k.v === SIL && k.at < 30 * FRAME_SAMPLES).pop()!.at;
    expect(restAt(pause.onFrame(30, '▁then')!)).toBeLessThan(restAt(plain.onFrame(30, '▁then')!));
  });

  it('re-sends a word from its start as each continuation piece arrives', () => {
    const tl = new VisemeTimeline({ leadFrames: 2, wordOffset: 0, adaptRate: false });
    const a = tl.onFrame(4, '▁re')!;
    const b = tl.onFrame(5, 'act')!;
    const c = tl.onFrame(6, 'or')!;
    for (const t of [a, b, c]) expect(t.from).toBe(6 * FRAME_SAMPLES);
    expect(names(c.keys)).toBe('RR I aa kk DD RR sil');
    // a punctuation piece that changes nothing sends nothing
    expect(tl.onFrame(7, '▁,')).toBeUndefined();
  });

  it('times several words from one piece as one stretch, not as zero-length words', () => {
    const tl = new VisemeTimeline({ leadFrames: 0, wordOffset: 0, adaptRate: false });
    const t = tl.onFrame(0, '▁of▁the')!;
    expect(names(t.keys)).toBe('aa FF TH aa sil');
    const u = tl.onFrame(1, 'm')!; // "them": a continuation of the last word of the group
    expect(names(u.keys)).toBe('aa FF TH E PP sil');
  });

  it('what the client holds after all tracks is one ordered, revised key list', () => {
    const tl = new VisemeTimeline({ leadFrames: 2, wordOffset: 0 });
    const { held } = run(tl, { 0: '▁Welcome', 4: '▁to', 5: '▁the', 6: '▁vill', 7: 'age', 10: ',', 14: '▁traveller', 19: '.' }, 40);
    for (let i = 1; i < held.length; i++) expect(held[i].at).toBeGreaterThanOrEqual(held[i - 1].at);
    const starts = [0, 4, 5, 6, 14].map((f) => (f + 2) * FRAME_SAMPLES);
    for (const s of starts) expect(held.some((k) => k.at === s && k.v !== SIL)).toBe(true);
    expect(held[held.length - 1].v).toBe(SIL);
  });
});

describe('VisemeTimeline interruption', () => {
  it('drops words not yet heard, rests at the cut, and starts afresh', () => {
    const tl = new VisemeTimeline({ leadFrames: 2, wordOffset: 0 });
    tl.onFrame(0, '▁stop');
    tl.onFrame(3, '▁right'); // would be heard from frame 5
    tl.interrupt(4);
    const after = tl.onFrame(4)!;
    expect(after).toEqual({ from: 4 * FRAME_SAMPLES, keys: [{ at: 4 * FRAME_SAMPLES, v: SIL }] });
    // a continuation piece after the cut starts a new word; the cut word is not revised
    const next = tl.onFrame(10, 'there')!;
    expect(next.from).toBe(12 * FRAME_SAMPLES);
    expect(names(next.keys)).toBe('TH E RR sil');
  });

  it('a piece in the interrupted frame itself is kept after the rest key', () => {
    const tl = new VisemeTimeline({ leadFrames: 0, wordOffset: 0 });
    tl.onFrame(0, '▁hey');
    tl.interrupt(2);
    const t = tl.onFrame(2, '▁sorry')!;
    expect(t.from).toBe(2 * FRAME_SAMPLES);
    expect(t.keys[0]).toEqual({ at: 2 * FRAME_SAMPLES, v: SIL });
    expect(t.keys[1]).toEqual({ at: 2 * FRAME_SAMPLES, v: VISEMES.indexOf('SS') });
  });
});

describe('VisemeTimeline input checks', () => {
  it('rejects a bad lead and out-of-order frames with clear errors', () => {
    expect(() => new VisemeTimeline({ leadFrames: -1 })).toThrow(/leadFrames/);
    expect(() => new VisemeTimeline({ leadFrames: 1.5 })).toThrow(/leadFrames/);
    const tl = new VisemeTimeline({ leadFrames: 0 });
    expect(() => tl.onFrame(Number.NaN)).toThrow(/frameIndex/);
    expect(() => tl.onFrame(-1)).toThrow(/frameIndex/);
  });

  it('a frame index going back restarts the timeline instead of failing the tick', () => {
    const tl = new VisemeTimeline({ leadFrames: 0, wordOffset: 0 });
    tl.onFrame(10, '▁long');
    const t = tl.onFrame(0, 'er')!; // a continuation piece on a restarted stream starts a new word
    expect(t.from).toBe(0);
    expect(names(t.keys)).toBe('RR sil');
  });

  it('ignores pieces that are not text, and unpronounceable words give a rest', () => {
    const tl = new VisemeTimeline({ leadFrames: 0, wordOffset: 0 });
    expect(tl.onFrame(0, 42 as unknown as string)).toBeUndefined();
    expect(tl.onFrame(1, '▁🙂')).toBeUndefined(); // no letters: not a word
    expect(tl.onFrame(2, '▁жж')).toEqual({ from: 2 * FRAME_SAMPLES, keys: [{ at: 2 * FRAME_SAMPLES, v: SIL }] });
  });
});
