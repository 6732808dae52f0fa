import { describe, expect, it } from 'vitest';
import { PlayoutBuffer } from '../../../plugin/dsp/playout-buffer.ts';

const FS = 1920;
/** A frame whose every sample is its index, so the output tells which frame played. */
const frame = (i: number) => new Float32Array(FS).fill(i + 1);
const QUANTUM = 480; // 20 ms at 24 kHz

/** Read `ms` of audio in 20 ms quanta; returns the per-quantum first sample values (0 = silence). */
function play(jb: PlayoutBuffer, ms: number): number[] {
  const seen: number[] = [];
  const out = new Float32Array(QUANTUM);
  for (let t = 0; t < ms; t += 20) {
    jb.read(out);
    seen.push(out[0]);
  }
  return seen;
}

describe('PlayoutBuffer', () => {
  it('waits for the target depth, then plays frames in index order with the position on the index scale', () => {
    const jb = new PlayoutBuffer();
    expect(jb.targetMs).toBe(60);
    jb.push(10, frame(10), 0);
    jb.push(11, frame(11), 80);
    const out = new Float32Array(QUANTUM);
    expect(jb.read(out)).toBe(QUANTUM);
    expect(jb.playing).toBe(true);
    expect(out[0]).toBe(11);
    expect(jb.position).toBe(10 * FS + QUANTUM);
    expect(play(jb, 140)).toEqual([11, 11, 11, 12, 12, 12, 12]);
    expect(jb.position).toBe(12 * FS);
  });

  it('holds back while less than the target is buffered', () => {
    const jb = new PlayoutBuffer({ minTargetMs: 100 });
    jb.push(0, frame(0), 0); // 80 ms < 100 ms target
    const out = new Float32Array(QUANTUM).fill(9);
    expect(jb.read(out)).toBe(0);
    expect(out.every((v) => v === 0)).toBe(true);
    expect(jb.playing).toBe(false);
    jb.push(1, frame(1), 80);
    expect(jb.read(out)).toBe(QUANTUM);
    expect(out[0]).toBe(1);
  });

  it('underrun: plays silence, keeps the position, counts it when the late frame arrives, raises the target', () => {
    const jb = new PlayoutBuffer();
    jb.push(0, frame(0), 0);
    expect(play(jb, 80)).toEqual([1, 1, 1, 1]);
    const before = jb.targetMs;
    // frame 1 is late: the buffer runs dry
    expect(play(jb, 40)).toEqual([0, 0]);
    expect(jb.playing).toBe(false);
    expect(jb.position).toBe(1 * FS);
    jb.push(1, frame(1), 200); // 120 ms late
    expect(jb.stats.underruns).toBe(1);
    expect(jb.targetMs).toBeGreaterThan(before + 80);
    // the raised target holds playback back until more is buffered
    expect(play(jb, 20)).toEqual([0]);
    jb.push(2, frame(2), 220);
    expect(play(jb, 20)).toEqual([2]);
    expect(jb.position).toBe(1 * FS + QUANTUM);
  });

  it('plays the tail of an utterance that is short of the target once nothing more arrives', () => {
    const jb = new PlayoutBuffer({ minTargetMs: 120 }); // a jittery network raised the target above one frame
    jb.push(2, frame(2), 400); // the last frame of the utterance: 80 ms buffered, less than the target
    const out = new Float32Array(QUANTUM);
    expect(jb.read(out, 410)).toBe(0); // the next frame may still be on its way
    expect(jb.read(out, 400 + jb.targetMs)).toBe(QUANTUM); // nothing came for a target's worth: play it
    expect(out[0]).toBe(3);
    expect(play(jb, 60)).toEqual([3, 3, 3]);
    expect(jb.position).toBe(3 * FS);
  });

  it('does not count the end of a talk spurt as an underrun, and jumps to the next spurt', () => {
    const jb = new PlayoutBuffer();
    jb.push(0, frame(0), 0);
    play(jb, 200);
    jb.push(40, frame(40), 3200);
    expect(jb.stats.underruns).toBe(0);
    expect(play(jb, 20)).toEqual([41]);
    expect(jb.index).toBe(40);
    expect(jb.position).toBe(40 * FS + QUANTUM);
  });

  it('conceals a lost frame inside a spurt with silence so later frames stay on their index', () => {
    const jb = new PlayoutBuffer();
    jb.push(0, frame(0), 0);
    const seen = play(jb, 80);
    jb.push(2, frame(2), 160); // frame 1 lost
    seen.push(...play(jb, 80));
    jb.push(3, frame(3), 240);
    seen.push(...play(jb, 80));
    expect(seen).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 3, 3, 3, 3]);
    expect(jb.stats.concealed).toBe(1);
    expect(jb.position).toBe(3 * FS);
  });

  it('refuses late and duplicate frames', () => {
    const jb = new PlayoutBuffer();
    jb.push(5, frame(5), 0);
    play(jb, 100);
    expect(jb.push(4, frame(4), 100)).toBe('late');
    expect(jb.push(5, frame(5), 100)).toBe('late');
    jb.push(6, frame(6), 100);
    expect(jb.push(6, frame(6), 110)).toBe('duplicate');
    expect(jb.stats.late).toBe(2);
    expect(jb.stats.duplicate).toBe(1);
  });

  it('overrun: a burst far past the target drops the oldest frames back to the target', () => {
    const jb = new PlayoutBuffer();
    jb.push(0, frame(0), 0);
    play(jb, 20);
    // ten frames arrive at once (a stalled connection catching up)
    for (let i = 1; i <= 10; i++) jb.push(i, frame(i), 100);
    expect(jb.stats.overrunDropped).toBeGreaterThan(0);
    expect(jb.bufferedMs).toBeLessThanOrEqual(jb.targetMs + 80 + 160);
    // what remains plays in order, ending with the newest frame
    const seen = play(jb, 2000).filter((v) => v > 0);
    expect(seen.at(-1)).toBe(11);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('flush empties the buffer at once; stale frames stay refused, newer ones play', () => {
    const jb = new PlayoutBuffer();
    for (let i = 0; i < 3; i++) jb.push(i, frame(i), i * 80);
    play(jb, 20);
    expect(jb.flush()).toBe(3);
    expect(play(jb, 20)).toEqual([0]);
    expect(jb.playing).toBe(false);
    expect(jb.push(0, frame(0), 300)).toBe('late');
    jb.push(3, frame(3), 320);
    expect(play(jb, 20)).toEqual([4]);
  });

  it('adapts the target to arrival jitter, within 60–200 ms', () => {
    const steady = new PlayoutBuffer();
    for (let i = 0; i < 50; i++) {
      steady.push(i, frame(i), i * 80);
      play(steady, 80);
    }
    expect(steady.targetMs).toBe(60);

    const jittery = new PlayoutBuffer();
    for (let i = 0; i < 50; i++) {
      jittery.push(i, frame(i), i * 80 + (i % 5 === 0 ? 110 : 0)); // every fifth frame 110 ms late
      play(jittery, 80);
    }
    expect(jittery.targetMs).toBeGreaterThanOrEqual(110);
    expect(jittery.targetMs).toBeLessThanOrEqual(200);

    const awful = new PlayoutBuffer();
    for (let i = 0; i < 50; i++) awful.push(i, frame(i), i * 80 + (i % 2) * 900);
    expect(awful.targetMs).toBe(200);
  });

  it('treats a frame far behind the play position as a restarted stream', () => {
    const jb = new PlayoutBuffer();
    jb.push(500, frame(500), 0);
    play(jb, 100);
    expect(jb.push(0, frame(0), 200)).toBe('restart');
    expect(play(jb, 20)).toEqual([1]);
    expect(jb.index).toBe(0);
  });

  it('rejects malformed frames without throwing', () => {
    const jb = new PlayoutBuffer();
    expect(jb.push(-1, frame(0), 0)).toBe('invalid');
    expect(jb.push(1.5, frame(0), 0)).toBe('invalid');
    expect(jb.push(1, new Float32Array(100), 0)).toBe('invalid');
    expect(() => new PlayoutBuffer({ minTargetMs: 300, maxTargetMs: 200 })).toThrow(/bounds/);
  });
});
