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
    expect(before).toBe(60);
    // the 120 ms lateness enters the spread (+ the 4 ms safety), and the underrun adds its bump on top
    expect(jb.targetMs).toBeGreaterThan(120 + 4);
    // the raised target holds playback back until more is buffered
    expect(play(jb, 20)).toEqual([0]);
    jb.push(2, frame(2), 220);
    expect(play(jb, 20)).toEqual([2]);
    expect(jb.position).toBe(1 * FS + QUANTUM);
  });

  it('running dry in silence is not an underrun: no bump is added, and the restart keeps the measured margin', () => {
    const jb = new PlayoutBuffer({ minTargetMs: 1 }); // the target is the allowance itself
    const silent = () => new Float32Array(FS);
    jb.push(0, silent(), 0);
    expect(play(jb, 80)).toEqual([0, 0, 0, 0]);
    expect(play(jb, 40)).toEqual([0, 0]); // frame 1 is late: dry, but what played was silence
    jb.push(1, frame(1), 130);
    expect(jb.stats.underruns).toBe(0);
    expect(jb.stats.lateInSilence).toBe(1);
    expect(jb.targetMs).toBeCloseTo(50 + 4, 6); // the 50 ms lateness and the 4 ms safety, no bump on top
    // the same lateness mid-speech is an audible gap: an underrun, and the bump comes on top of the lateness
    const speaking = new PlayoutBuffer({ minTargetMs: 1 });
    speaking.push(0, frame(0), 0);
    play(speaking, 80);
    play(speaking, 40);
    speaking.push(1, frame(1), 130);
    expect(speaking.stats.underruns).toBe(1);
    expect(speaking.targetMs).toBeCloseTo(50 + 4 + 10 - 0.25, 6); // (the bump decays 0.25 ms per arrival, this one too)
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

  it('a frame lost while playback ran dry is a loss, not an underrun: the margin does not grow for it', () => {
    const jb = new PlayoutBuffer();
    jb.push(0, frame(0), 0);
    play(jb, 80);
    const before = jb.targetMs;
    expect(play(jb, 40)).toEqual([0, 0]); // dry at frame 1
    jb.push(2, frame(2), 160); // frame 2 on time, frame 1 never comes (in-order channel: it was lost)
    expect(jb.stats.underruns).toBe(0);
    expect(jb.stats.lost).toBe(1);
    expect(jb.targetMs).toBe(before);
    // playback resumes at frame 2; frame 1's slot is skipped, so the position stays on the index scale
    const seen = play(jb, 120);
    expect(seen).toEqual([3, 3, 3, 3, 0, 0]);
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

  it('overrun: a burst of speech after a stall is kept and plays in order (late, not lost); silence piled up is dropped', () => {
    const jb = new PlayoutBuffer();
    jb.push(0, frame(0), 0);
    play(jb, 20);
    // ten frames of speech arrive at once (a stalled page or connection catching up): 800 ms, under the 1.5 s ceiling
    for (let i = 1; i <= 10; i++) jb.push(i, frame(i), 100);
    expect(jb.stats.overrunDropped).toBe(0);
    const seen = play(jb, 2000).filter((v) => v > 0);
    expect([...new Set(seen)]).toEqual(Array.from({ length: 11 }, (_, i) => i + 1)); // every frame, in order

    const quiet = new PlayoutBuffer();
    quiet.push(0, new Float32Array(FS), 0);
    play(quiet, 20);
    for (let i = 1; i <= 10; i++) quiet.push(i, new Float32Array(FS), 100);
    expect(quiet.stats.overrunDropped).toBeGreaterThan(0);
    expect(quiet.bufferedMs).toBeLessThanOrEqual(quiet.targetMs + 80 + 160);
  });

  it('overrun: speech past the ceiling (a page stalled for seconds) is dropped, oldest first, back to the target', () => {
    const jb = new PlayoutBuffer({ overrunSpeechMs: 1000 });
    jb.push(0, frame(0), 0);
    play(jb, 20);
    for (let i = 1; i <= 20; i++) jb.push(i, frame(i), 100); // 1.6 s at once
    expect(jb.stats.overrunDropped).toBeGreaterThan(0);
    expect(jb.bufferedMs).toBeLessThanOrEqual(jb.targetMs + 80 + 1000);
    // what remains plays in order, ending with the newest frame
    const seen = play(jb, 3000).filter((v) => v > 0);
    expect(seen.at(-1)).toBe(21);
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
    jb.push(3, frame(3), 240);
    expect(play(jb, 20)).toEqual([4]);
  });

  it('a flush keeps the arrival-spread estimate: the answer after a barge-in starts with the margin the link needs', () => {
    const jb = new PlayoutBuffer();
    // 100 ms of jitter on the link (every third frame held 100 ms), then the NPC is cut off
    for (let i = 0; i < 30; i++) {
      jb.push(i, frame(i), i * 80 + (i % 3 === 0 ? 100 : 0));
      play(jb, 80);
    }
    const before = jb.targetMs;
    expect(before).toBeGreaterThanOrEqual(100);
    jb.flush();
    expect(jb.targetMs).toBe(before);
    // the stream goes on (the server sends every frame): the next frame alone is less than the margin, so it
    // waits instead of starting at once and running dry on the next late one
    jb.push(30, frame(30), 30 * 80);
    expect(play(jb, 20)).toEqual([0]);
    expect(jb.playing).toBe(false);
  });

  it('frames coming steadily earlier (the server moving its tick onto the player) are not jitter; later ones are', () => {
    const earlier = new PlayoutBuffer();
    const later = new PlayoutBuffer();
    for (let i = 0; i < 50; i++) {
      earlier.push(i, frame(i), i * 80 + 100 - 2 * i); // 2 ms earlier each frame: 98 ms over the window
      later.push(i, frame(i), i * 80 + 2 * i); // 2 ms later each frame
      play(earlier, 80);
      play(later, 80);
    }
    expect(earlier.targetMs).toBe(60); // nothing came late: the floor
    expect(later.targetMs).toBeGreaterThan(98); // each frame later than every one before it: 98 ms to cover
  });

  it('a lone spike (one frame held up by a stall) is left out of the spread; two alike, or a jittery link, count', () => {
    const lone = new PlayoutBuffer();
    const counted = new PlayoutBuffer({ loneSpikes: 0 });
    const twice = new PlayoutBuffer();
    for (let i = 0; i < 50; i++) {
      const jitter = i % 4; // 0–3 ms: a clean loopback link
      lone.push(i, frame(i), i * 80 + jitter + (i === 30 ? 25 : 0));
      counted.push(i, frame(i), i * 80 + jitter + (i === 30 ? 25 : 0));
      twice.push(i, frame(i), i * 80 + jitter + (i === 20 || i === 30 ? 25 : 0));
      for (const jb of [lone, counted, twice]) play(jb, 80);
    }
    // the margin is the next largest lateness (3 ms) + 4 ms, not the stall's 25 ms: the next answer is not held back
    expect((lone as unknown as { allowance: number }).allowance).toBeCloseTo(3 + 4, 5);
    expect((counted as unknown as { allowance: number }).allowance).toBeCloseTo(2 + 25 + 4, 5); // frame 30: 2 ms jitter + 25
    // a second stall as large: the link does stall, and the margin covers it
    expect((twice as unknown as { allowance: number }).allowance).toBeGreaterThanOrEqual(25 + 4);

    // a jittery link: its largest lateness is one of many near it, so it counts
    const jittery = new PlayoutBuffer();
    for (let i = 0; i < 50; i++) jittery.push(i, frame(i), i * 80 + ((i * 37) % 11) * 6); // 0–60 ms
    expect((jittery as unknown as { allowance: number }).allowance).toBeGreaterThanOrEqual(60 + 4);

    // a spike in a window less than half full is not judged lone: too few frames to tell
    const early = new PlayoutBuffer();
    for (let i = 0; i < 10; i++) early.push(i, frame(i), i * 80 + (i === 8 ? 25 : 0));
    expect((early as unknown as { allowance: number }).allowance).toBeGreaterThanOrEqual(25 + 4);
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

describe('PlayoutBuffer read with the clock (as the playback worklet reads it)', () => {
  const Q = 64; // one render quantum at 48 kHz, in 24 kHz stream samples
  const QMS = (Q / 24_000) * 1000;
  const speech = (i: number) => Float32Array.from({ length: FS }, (_, k) => 0.3 * Math.sin((2 * Math.PI * 200 * (i * FS + k)) / 24_000));

  /** Frames arriving at the given times, read every quantum until `untilMs`; where each frame's first sample played. */
  function run(jb: PlayoutBuffer, arrivals: { i: number; at: number; x?: Float32Array }[], untilMs: number, fromMs = 0) {
    const out = new Float32Array(Q);
    const startedAt = new Map<number, number>();
    const track: number[] = [];
    let advanced = 0;
    let a = 0;
    const sorted = [...arrivals].sort((p, q) => p.at - q.at);
    for (let now = fromMs; now < untilMs; now += QMS) {
      for (; a < sorted.length && sorted[a]!.at <= now; a++) jb.push(sorted[a]!.i, sorted[a]!.x ?? speech(sorted[a]!.i), sorted[a]!.at);
      const r = jb.read(out, now);
      advanced += r;
      if (r > 0) {
        const p0 = jb.position - r;
        for (let k = Math.ceil(p0 / FS); k * FS < jb.position; k++) startedAt.set(k, now + ((k * FS - p0) / 24_000) * 1000);
      }
      track.push(...out);
    }
    return { startedAt, track, advanced };
  }
  /** deterministic pseudo-random in [0, 1) */
  const rnd = (k: number) => ((Math.sin(k * 12.9898) * 43758.5453) % 1 + 1) % 1;

  it('on a clean link plays each frame within a quantum or two of its arrival (one frame of audio, no more)', () => {
    const jb = new PlayoutBuffer();
    const arrivals = Array.from({ length: 60 }, (_, i) => ({ i, at: i * 80 + 5 }));
    const { startedAt } = run(jb, arrivals, 60 * 80);
    const waits = arrivals.slice(10, 55).map((f) => startedAt.get(f.i)! - f.at);
    expect(Math.max(...waits)).toBeLessThan(10 + 2 * QMS); // the 10 ms allowance, plus render-quantum rounding
    expect(jb.stats.underruns).toBe(0);
    expect(jb.targetMs).toBe(60);
  });

  it('under 60 ms of jitter grows its margin to the jitter and stops running dry', () => {
    const jb = new PlayoutBuffer();
    const n = 750; // a minute
    const arrivals = Array.from({ length: n }, (_, i) => ({ i, at: i * 80 + 60 * rnd(i + 1) }));
    const { startedAt } = run(jb, arrivals, n * 80 + 200);
    expect(jb.stats.underruns).toBeLessThanOrEqual(2); // while it learns the spread, in the first second
    const late = arrivals.slice(100).map((f) => startedAt.get(f.i)! - f.at);
    expect(Math.min(...late)).toBeGreaterThanOrEqual(0);
    // the delay follows the jitter: about the spread, not whole frames more
    const mean = late.reduce((x, y) => x + y, 0) / late.length;
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(120);
  });

  it('drains a delay that built up, only in silence, and the position stays on the frame-index scale', () => {
    const jb = new PlayoutBuffer();
    const silent = (i: number) => ({ i, at: 0, x: new Float32Array(FS) });
    // a burst of three frames (a stalled connection catching up), then a steady stream of silent frames
    const arrivals = [...Array.from({ length: 3 }, (_, i) => ({ ...silent(i), at: 0 })), ...Array.from({ length: 60 }, (_, k) => ({ ...silent(k + 3), at: (k + 1) * 80 }))];
    const first = run(jb, arrivals, 5 * 80);
    expect(jb.bufferedMs).toBeGreaterThan(150); // two frames more than a clean link needs
    const rest = run(jb, arrivals.filter((f) => f.at > 5 * 80 - QMS), 61 * 80, 5 * 80);
    expect(jb.stats.drained).toBeGreaterThan(0);
    expect(jb.bufferedMs).toBeLessThan(100);
    expect(jb.stats.underruns).toBe(0);
    expect(jb.stats.overrunDropped).toBe(0);
    // exact clock: from frame 0, the position is every sample played plus every sample skipped
    expect(jb.position).toBe(first.advanced + rest.advanced + jb.stats.drained);
  });

  it('when speech comes after silence, skips the queued silence beyond the margin at once: the answer is not held back', () => {
    // a short spread window so the burst below is forgotten before the speech comes (and before any drain)
    const jb = new PlayoutBuffer({ windowFrames: 4 });
    const silent = (i: number, at: number) => ({ i, at, x: new Float32Array(FS) });
    // a burst of three silent frames (a stall catching up) leaves two frames of extra silence queued; then a
    // steady stream, and the NPC starts to answer at frame 7
    const arrivals = [0, 1, 2].map((i) => silent(i, 0)).concat([3, 4, 5, 6].map((i) => silent(i, (i - 2) * 80)));
    const speech = [{ i: 7, at: 400 }, { i: 8, at: 480 }];
    const { startedAt } = run(jb, [...arrivals, ...speech], 800);
    // without the catch-up the answer would wait behind 160 ms of silence; now only the start margin
    expect(startedAt.get(7)! - 400).toBeLessThan(15);
    expect(jb.stats.drained).toBeGreaterThan(FS); // more than a frame of silence skipped
    expect(jb.stats.underruns).toBe(0);
    // nothing audible was skipped: both speech frames played whole, in order
    expect(startedAt.get(8)! - startedAt.get(7)!).toBeCloseTo(80, 0);
  });

  it('does not drain speech', () => {
    const jb = new PlayoutBuffer();
    const arrivals = [...Array.from({ length: 5 }, (_, i) => ({ i, at: 0 })), ...Array.from({ length: 40 }, (_, k) => ({ i: k + 5, at: (k + 1) * 80 }))];
    run(jb, arrivals, 41 * 80);
    expect(jb.stats.drained).toBe(0);
    expect(jb.stats.overrunDropped).toBe(0);
  });

  it('running dry mid-speech fades the last 10 ms out instead of cutting, and the position waits', () => {
    const jb = new PlayoutBuffer();
    const { track } = run(jb, [{ i: 0, at: 0 }], 160);
    const pos = jb.position;
    expect(pos).toBe(FS); // frame 0 played; frame 1 is late
    const after = track.slice(FS + 64 * 2, FS + 64 * 2 + 240); // just after the frame ended (within a quantum)
    expect(Math.max(...after.map(Math.abs))).toBeGreaterThan(0.05); // not a cut to silence
    expect(track.slice(-240).every((v) => v === 0)).toBe(true); // faded out within 30 ms
    expect(jb.playing).toBe(false);
    jb.push(1, speech(1), 170);
    expect(jb.stats.underruns).toBe(1);
  });

  it('keeps restarting after underruns when the server keeps falling behind (skipped ticks), though the spread it measures grows without bound', () => {
    const jb = new PlayoutBuffer();
    // a loaded server skips a tick every 8 frames: each one puts the stream another 80 ms behind, for good
    const arrivals = Array.from({ length: 160 }, (_, i) => ({ i, at: i * 80 + 80 * Math.floor(i / 8) }));
    const end = arrivals.at(-1)!.at + 200;
    const { advanced } = run(jb, arrivals, end);
    // everything that came is played, late but not stalled behind a margin the overrun trim never lets it reach
    expect(advanced).toBeGreaterThanOrEqual((160 - jb.stats.overrunDropped) * FS - FS);
    expect(jb.stats.underruns).toBeGreaterThan(5);
  });
});
