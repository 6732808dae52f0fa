/** The playback queue: frames from the server in at network pace, out one per tick. */
import { describe, expect, it } from 'vitest';
import { PlaybackQueue } from '../../server/engines/personaplex-server/playback-queue.ts';

const frame = (n: number, text?: string) => ({ pcm: new Float32Array(1920).fill(n / 100), ...(text ? { text } : {}) });
const id = (f: { pcm: Float32Array } | null) => (f ? Math.round(f.pcm[0]! * 100) : null);

describe('playback queue', () => {
  it('starts after `target` frames, plays in order, and rebuffers after an underrun', () => {
    const j = new PlaybackQueue(2, 8);
    j.push(frame(1));
    expect(j.pop()).toBeNull(); // still buffering
    j.push(frame(2));
    expect([id(j.pop()), id(j.pop())]).toEqual([1, 2]);
    expect(j.pop()).toBeNull(); // underrun
    expect(j.underruns).toBe(1);
    j.push(frame(3));
    expect(j.pop()).toBeNull(); // rebuffering to 2
    j.push(frame(4));
    expect(id(j.pop())).toBe(3);
  });

  it('drops the oldest frames past `max`, moving their text onto a later frame', () => {
    const j = new PlaybackQueue(1, 3);
    j.push(frame(1, '▁one'));
    j.push(frame(2));
    j.push(frame(3));
    j.push(frame(4)); // frame 1 dropped, its word moves on
    expect(j.dropped).toBe(1);
    const got = [j.pop(), j.pop(), j.pop()];
    expect(got.map(id)).toEqual([2, 3, 4]);
    expect(got[0]!.text).toBe('▁one');
  });

  it('rejects nonsense sizes', () => {
    expect(() => new PlaybackQueue(0, 4)).toThrow();
    expect(() => new PlaybackQueue(4, 2)).toThrow();
  });
});
