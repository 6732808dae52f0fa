import { describe, expect, it } from 'vitest';
import { SpeechTracker } from '../../server/sessions/speech-tracker.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';

const frame = (v: number) => new Float32Array(FRAME_SAMPLES).fill(v);

describe('speech tracker', () => {
  it('starts on energy or text, ends after the hangover, infers an interruption when it stops while hearing a player', () => {
    const tr = new SpeechTracker({ hangoverFrames: 3 });
    const quiet = frame(0);
    expect(tr.update(0, frame(0.2), undefined, quiet, false)).toEqual([{ e: 'speech-started', i: 0 }]);
    expect(tr.update(1, quiet, '▁hi', quiet, false)).toEqual([]);
    const player = frame(0.3);
    expect(tr.update(2, quiet, undefined, player, false)).toEqual([]);
    expect(tr.update(3, quiet, undefined, player, false)).toEqual([]);
    expect(tr.update(4, quiet, undefined, player, false)).toEqual([
      { e: 'interrupted', i: 2 },
      { e: 'speech-ended', i: 2 },
    ]);
    // an engine-reported interruption is passed on once, not inferred again
    tr.update(5, frame(0.2), undefined, quiet, false);
    expect(tr.update(6, frame(0.2), undefined, player, true)).toEqual([{ e: 'interrupted', i: 6 }]);
    for (let i = 7; i < 9; i++) tr.update(i, quiet, undefined, player, false);
    expect(tr.update(9, quiet, undefined, player, false)).toEqual([{ e: 'speech-ended', i: 7 }]);
  });
});
