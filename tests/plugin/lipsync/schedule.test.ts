import { describe, expect, it } from 'vitest';
import { type VisemeTrack } from '../../../protocol/visemes.ts';
import { VisemeSchedule } from '../../../plugin/lipsync/schedule.ts';

describe('VisemeSchedule', () => {
  it('replaces keys from a track’s `from` on, skips malformed keys, flushes and prunes', () => {
    const s = new VisemeSchedule();
    s.apply({ from: 0, keys: [{ at: 0, v: 1 }, { at: 100, v: 10 }, { at: 200, v: 0 }] });
    s.apply({ from: 100, keys: [{ at: 150, v: 11 }, { at: 120, v: 12 }, { at: 90, v: 3 }, { at: 130, v: 99 } as never, null as never] });
    expect(s.keys).toEqual([{ at: 0, v: 1 }, { at: 120, v: 12 }, { at: 150, v: 11 }]);
    expect(s.apply({ from: Number.NaN, keys: [] } as VisemeTrack)).toBe(0);
    s.flush(140);
    expect(s.keys).toEqual([{ at: 0, v: 1 }, { at: 120, v: 12 }, { at: 140, v: 0 }]);
    s.prune(130);
    expect(s.keys).toEqual([{ at: 120, v: 12 }, { at: 140, v: 0 }]);
  });
});
