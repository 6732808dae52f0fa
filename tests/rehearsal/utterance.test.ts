import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { FADE_SAMPLES, Playback, UtteranceLayout } from '../../server/engines/rehearsal/utterance.ts';
import { LinePicker, linesFor, seededRandom } from '../../server/engines/rehearsal/lines.ts';
import { speakable } from '../../server/engines/rehearsal/tts.ts';

function layout() {
  const samples = new Float32Array(FRAME_SAMPLES * 6).fill(0.5);
  return new UtteranceLayout({
    text: 'a bb ccc dd',
    samples,
    // 'a' and 'bb' start in frame 0, 'ccc' in frame 1: 'bb' moves to frame 1, so 'ccc' to frame 2.
    words: [
      { text: 'a', start: 10 },
      { text: 'bb', start: 900 },
      { text: 'ccc', start: FRAME_SAMPLES + 5 },
      { text: 'dd.', start: FRAME_SAMPLES * 4 },
    ],
    phonemes: [
      { ipa: 'a', start: 10 },
      { ipa: 'b', start: 900 },
      { ipa: 'k', start: FRAME_SAMPLES + 5 },
    ],
  });
}

describe('UtteranceLayout', () => {
  it('puts at most one piece in a frame, delaying a word that shares its frame, and records the delay', () => {
    const l = layout();
    expect(l.words.map((w) => [w.piece, w.onsetFrame, w.frame])).toEqual([
      ['▁a', 0, 0],
      ['▁bb', 0, 1],
      ['▁ccc', 1, 2],
      ['▁dd.', 4, 4],
    ]);
    expect([0, 1, 2, 3, 4, 5].map((f) => l.pieceAt(f))).toEqual(['▁a', '▁bb', '▁ccc', undefined, '▁dd.', undefined]);
    expect(l.phonemesAt(0)).toEqual([{ ipa: 'a', offset: 10 }, { ipa: 'b', offset: 900 }]);
    expect(l.phonemesAt(1)).toEqual([{ ipa: 'k', offset: 5 }]);
  });

  it('plays frame by frame and fades out when stopped', () => {
    const p = new Playback(layout(), 'line');
    const out = new Float32Array(FRAME_SAMPLES);
    expect(p.play(out)).toEqual({ text: '▁a', phonemes: [{ ipa: 'a', offset: 10 }, { ipa: 'b', offset: 900 }] });
    expect(out[100]).toBe(0.5);
    p.stop(out);
    expect(p.done).toBe(true);
    expect(Math.abs(out[0]!)).toBeGreaterThan(0.4);
    expect(out[FADE_SAMPLES - 1]).toBe(0);
    expect(out.subarray(FADE_SAMPLES).every((v) => v === 0)).toBe(true);
    expect(p.play(out)).toEqual({});
  });
});

describe('Playback pausing (a hesitation when talked over)', () => {
  /** a line whose every sample is its sample index + 1, so the output tells where the cursor was */
  function ramp() {
    const samples = Float32Array.from({ length: FRAME_SAMPLES * 6 }, (_, i) => i + 1);
    return new UtteranceLayout({
      text: 'one two three',
      samples,
      words: [
        { text: 'one', start: 0 },
        { text: 'two', start: FRAME_SAMPLES + 500 },
        { text: 'three', start: FRAME_SAMPLES * 4 },
      ],
      phonemes: [
        { ipa: 'w', start: 0 },
        { ipa: 't', start: FRAME_SAMPLES + 500 },
        { ipa: 'θ', start: FRAME_SAMPLES * 4 },
      ],
    });
  }

  it('fades out, holds silent, then starts the word it paused in again, faded in; its piece is not sent twice', () => {
    const p = new Playback(ramp(), 'line');
    const out = new Float32Array(FRAME_SAMPLES);
    const pieces: string[] = [];
    const take = () => {
      const f = p.play(out);
      if (f.text) pieces.push(f.text);
      return f;
    };
    take();
    take(); // frame 1: "two" starts 500 samples in
    take(); // frame 2, still "two"
    p.pause(out);
    expect(out[0]).toBeCloseTo((3 * FRAME_SAMPLES + 1) * (1 - 1 / FADE_SAMPLES)); // the next sample, fading
    expect(out.subarray(FADE_SAMPLES).every((v) => v === 0)).toBe(true);
    expect(p.isPaused).toBe(true);
    for (let k = 0; k < 4; k++) {
      expect(take()).toEqual({});
      expect(out.every((v) => v === 0)).toBe(true);
    }
    expect(p.done).toBe(false);
    expect(p.resume()).toBe(3 * FRAME_SAMPLES - (FRAME_SAMPLES + 500)); // back to the start of "two"
    const f = take();
    expect(out[FADE_SAMPLES]).toBe(FRAME_SAMPLES + 500 + FADE_SAMPLES + 1); // from "two" again, past the fade-in
    expect(out[0]!).toBeLessThan(out[FADE_SAMPLES]! / 10);
    expect(f.phonemes).toEqual([{ ipa: 't', offset: 0 }]); // the mouth says it again
    expect(f.text).toBeUndefined();
    while (!p.done) take();
    expect(pieces).toEqual(['▁one', '▁two', '▁three']);
  });

  it('resumes where it paused when the last word began more than 600 ms before (a pause between phrases)', () => {
    const samples = new Float32Array(FRAME_SAMPLES * 20).fill(0.5);
    const p = new Playback(new UtteranceLayout({ text: 'a', samples, words: [{ text: 'a', start: 0 }], phonemes: [] }), 'line');
    const out = new Float32Array(FRAME_SAMPLES);
    for (let k = 0; k < 10; k++) p.play(out);
    p.pause(out);
    expect(p.resume()).toBe(0);
    expect(p.playedSamples).toBe(10 * FRAME_SAMPLES);
  });
});

describe('rehearsal lines', () => {
  it('falls back to generic lines for a sheet without usable ones', () => {
    const l = linesFor({ id: 'x', name: 'Ada', textPrompt: '', voice: { kind: 'builtin', id: 'NATF0' }, rehearsal: { greeting: 3 as unknown as string, lines: [], backchannels: ['Right.', 5 as unknown as string], afterInterruption: '' } });
    expect(l.greeting).toBe("Hello there. I'm Ada.");
    expect(l.lines.length).toBeGreaterThan(0);
    expect(l.backchannels).toEqual(['Right.']);
    expect(l.afterInterruption.length).toBeGreaterThan(0);
  });

  it('says every line once per round in a seeded order; the seed changes the order', () => {
    const lines = { greeting: 'g', lines: ['a', 'b', 'c', 'd', 'e'], backchannels: ['x', 'y'], afterInterruption: 'z' };
    const round = (seed: number) => {
      const p = new LinePicker(lines, seededRandom(seed));
      return Array.from({ length: 5 }, () => p.next('line')).join('');
    };
    expect(round(1)).toBe(round(1));
    expect([...round(1)].sort().join('')).toBe('abcde');
    expect(new Set([1, 2, 3, 4, 5, 6].map(round)).size).toBeGreaterThan(1);
    const p = new LinePicker(lines, seededRandom(3));
    const bc = Array.from({ length: 20 }, () => p.next('backchannel'));
    for (let i = 1; i < bc.length; i++) expect(bc[i]).not.toBe(bc[i - 1]);
  });

  it('an interrupted line comes again at the next turn', () => {
    const p = new LinePicker({ greeting: 'g', lines: ['a', 'b', 'c'], backchannels: ['x'], afterInterruption: 'z' }, seededRandom(9));
    const first = p.next('line');
    p.putBackLine();
    expect(p.next('line')).toBe(first);
  });

  it('respells interjections espeak would spell out, and leaves words alone', () => {
    expect(speakable('Mm-hm. I see.')).toBe('Hmm-hmm. I see.');
    expect(speakable("I'm fine, mm.")).toBe("I'm fine, hmm.");
    expect(speakable('5 m away')).toBe('5 m away');
  });
});
