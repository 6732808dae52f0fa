import { describe, expect, it } from 'vitest';
import { SpeechTracker } from '../../server/sessions/speech-tracker.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';

const frame = (v: number) => new Float32Array(FRAME_SAMPLES).fill(v);

describe('speech tracker', () => {
  it('starts on energy or text, ends after the hangover, infers an interruption when it stops while hearing a player', () => {
    const tr = new SpeechTracker({ hangoverFrames: 3 });
    const quiet = frame(0);
    expect(tr.update(0, frame(0.2), undefined, quiet)).toEqual([{ e: 'speech-started', i: 0 }]);
    expect(tr.update(1, quiet, '▁hi', quiet)).toEqual([]);
    const player = frame(0.3);
    expect(tr.update(2, quiet, undefined, player)).toEqual([]);
    expect(tr.update(3, quiet, undefined, player)).toEqual([]);
    expect(tr.update(4, quiet, undefined, player)).toEqual([
      { e: 'interrupted', i: 2 },
      { e: 'speech-ended', i: 2 },
    ]);
    // an engine-reported interruption is passed on once, not inferred again
    tr.update(5, frame(0.2), undefined, quiet);
    expect(tr.update(6, frame(0.2), undefined, player, ['interrupted'])).toEqual([{ e: 'interrupted', i: 6 }]);
    for (let i = 7; i < 9; i++) tr.update(i, quiet, undefined, player);
    expect(tr.update(9, quiet, undefined, player)).toEqual([{ e: 'speech-ended', i: 7 }]);
  });

  it("passes on an engine's pause: the quiet while a player talks is neither the end of speech nor an interruption", () => {
    const tr = new SpeechTracker({ hangoverFrames: 3 });
    const quiet = frame(0);
    const player = frame(0.3);
    expect(tr.update(0, frame(0.2), undefined, quiet)).toEqual([{ e: 'speech-started', i: 0 }]);
    expect(tr.update(1, frame(0.05), undefined, player, ['paused'])).toEqual([{ e: 'paused', i: 1 }]);
    for (let i = 2; i < 12; i++) expect(tr.update(i, quiet, undefined, i < 8 ? player : quiet)).toEqual([]);
    expect(tr.speaking).toBe(true);
    expect(tr.update(12, frame(0.2), undefined, quiet, ['resumed'])).toEqual([{ e: 'resumed', i: 12 }]);
    // speaking on: no second speech-started; the end comes after the hangover as usual
    for (let i = 13; i < 15; i++) expect(tr.update(i, quiet, undefined, quiet)).toEqual([]);
    expect(tr.update(15, quiet, undefined, quiet)).toEqual([{ e: 'speech-ended', i: 13 }]);
  });

  it('a pause that ends in a barge-in is reported once as interrupted, and speech ends after the hangover', () => {
    const tr = new SpeechTracker({ hangoverFrames: 3 });
    const quiet = frame(0);
    const player = frame(0.3);
    tr.update(0, frame(0.2), undefined, quiet);
    expect(tr.update(1, quiet, undefined, player, ['paused'])).toEqual([{ e: 'paused', i: 1 }]);
    for (let i = 2; i < 8; i++) expect(tr.update(i, quiet, undefined, player)).toEqual([]);
    expect(tr.update(8, quiet, undefined, player, ['interrupted'])).toEqual([{ e: 'interrupted', i: 8 }]);
    expect(tr.update(9, quiet, undefined, player)).toEqual([]);
    expect(tr.update(10, quiet, undefined, player)).toEqual([{ e: 'speech-ended', i: 8 }]);
    // a 'resumed' with nothing paused, or a 'paused' while silent, is not passed on
    expect(tr.update(11, quiet, undefined, quiet, ['resumed'])).toEqual([]);
    expect(tr.update(12, quiet, undefined, quiet, ['paused'])).toEqual([]);
  });
});
