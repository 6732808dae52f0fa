import { describe, expect, it } from 'vitest';
import { UplinkJitterBuffer } from '../../server/voice/uplink-jitter-buffer.ts';

describe('uplink jitter buffer', () => {
  it('primes, plays in sequence order, and re-primes after an underrun', () => {
    const jb = new UplinkJitterBuffer<number>(2, 6);
    jb.push(1, 1);
    expect(jb.pop()).toBeNull(); // not primed yet
    jb.push(0, 0); // out of order
    expect([jb.pop(), jb.pop()]).toEqual([0, 1]);
    expect(jb.pop()).toBeNull(); // underrun
    expect(jb.stats.missing).toBe(1);
    jb.push(2, 2);
    expect(jb.pop()).toBeNull(); // re-priming
    jb.push(3, 3);
    expect(jb.pop()).toBe(2);
  });

  it('drops late and duplicate frames and bounds its depth', () => {
    const jb = new UplinkJitterBuffer<number>(1, 3);
    jb.push(5, 5);
    expect(jb.pop()).toBe(5);
    expect(jb.push(4, 4)).toBe('late');
    jb.push(6, 6);
    expect(jb.push(6, 6)).toBe('duplicate');
    for (let s = 7; s < 20; s++) jb.push(s, s);
    expect(jb.depth).toBe(3);
    expect(jb.stats.overflow).toBe(11);
    expect(jb.pop()).toBe(17); // the oldest were dropped, the delay stays bounded
  });
});

describe('uplink jitter buffer, adaptive', () => {
  /** A player's frames arriving every 80 ms at `phase` past each tick (plus `delay(seq)`), ticks every 80 ms. */
  function drive(jb: UplinkJitterBuffer<number>, ticks: number, opts: { phase?: number; delay?: (seq: number) => number; lost?: (seq: number) => boolean; from?: number } = {}) {
    const played: (number | null)[] = [];
    const from = opts.from ?? 0;
    let seq = from;
    const arrivals: { at: number; seq: number }[] = [];
    for (let t = from; t < from + ticks; t++) {
      const tickAt = (t + 1) * 80;
      // every frame sent before this tick, at its arrival time
      while (seq <= t) {
        if (!opts.lost?.(seq)) arrivals.push({ at: seq * 80 + (opts.phase ?? 30) + (opts.delay?.(seq) ?? 0), seq });
        seq++;
      }
      arrivals.sort((a, b) => a.at - b.at);
      while (arrivals.length && arrivals[0]!.at <= tickAt) {
        const a = arrivals.shift()!;
        jb.push(a.seq, a.seq, a.at);
      }
      played.push(jb.pop(tickAt));
    }
    for (const a of arrivals) jb.push(a.seq, a.seq, a.at);
    return played;
  }

  it('on a clean link plays each frame at the first tick after it arrives, and asks for the tick just after the arrivals', () => {
    const jb = new UplinkJitterBuffer<number>();
    expect(jb.adaptive).toBe(true);
    const played = drive(jb, 20, { phase: 30 });
    expect(played).toEqual(Array.from({ length: 20 }, (_, k) => k)); // frame k at tick k: no frame of waiting
    expect(jb.lastWait).toEqual({ tickMs: 50, heldMs: 0 });
    expect(jb.depth).toBe(0);
    // slack 50 ms, less the 6 ms safety: the tick could fire 44 ms earlier
    expect(jb.phaseWishMs()).toBeCloseTo(44, 6);
    jb.shifted(44);
    expect(jb.phaseWishMs()).toBeCloseTo(0, 6);
  });

  it('conceals a lost frame instead of waiting for it, so the frames after it are not delayed', () => {
    const jb = new UplinkJitterBuffer<number>('adaptive', 6, { conceal: (last, n) => (n === 1 ? -(last as number) : null) });
    const played = drive(jb, 10, { lost: (s) => s === 4 || s === 6 || s === 7 });
    expect(played).toEqual([0, 1, 2, 3, -3, 5, -5, null, 8, 9]);
    expect(jb.stats.missing).toBe(3);
  });

  it('a frame later than its tick is concealed, then refused as late, and asks for a later tick', () => {
    const jb = new UplinkJitterBuffer<number>('adaptive', 6);
    drive(jb, 12, { phase: 70 }); // steady, 10 ms before each tick
    expect(jb.phaseWishMs()).toBeCloseTo(4, 6);
    expect(jb.pop(13 * 80)).toBeNull(); // frame 12 is not in: concealed, not waited for
    expect(jb.stats.missing).toBe(1);
    expect(jb.push(12, 12, 13 * 80 + 15)).toBe('late'); // it came 15 ms after its tick
    expect(jb.phaseWishMs()).toBeCloseTo(-15 - 6, 6);
    jb.push(13, 13, 13 * 80 + 70);
    expect(jb.pop(14 * 80)).toBe(13);
  });

  it('after a stall that skipped ticks, trims the frames that piled up back to one per tick', () => {
    const jb = new UplinkJitterBuffer<number>('adaptive', 8);
    drive(jb, 10);
    // a 400 ms stall: frames 10..14 arrive, no tick runs
    for (let s = 10; s < 15; s++) jb.push(s, s, s * 80 + 30);
    expect(jb.depth).toBe(5);
    const played = drive(jb, 30, { from: 15 });
    expect(jb.stats.trimmed).toBe(5); // the five frames the stall piled up
    expect(jb.depth).toBe(0);
    expect(played.slice(-5)).toEqual([40, 41, 42, 43, 44]); // back to playing each frame at the tick after it arrives
    expect(jb.stats.missing).toBe(0);
  });

  it('with isSilent, keeps speech that piled up in a stall and trims the silence after it instead', () => {
    // values are sequence numbers; frames 10..29 are speech, the rest silence
    const speech = (seq: number) => seq >= 10 && seq < 30;
    const jb = new UplinkJitterBuffer<number>('adaptive', 8, { isSilent: (v) => !speech(v as number) });
    drive(jb, 10);
    for (let s = 10; s < 15; s++) jb.push(s, s, s * 80 + 30); // a 400 ms stall in the middle of a word
    const played = drive(jb, 50, { from: 15 });
    // every speech frame reached the engine, in order
    const heard = played.filter((v): v is number => v !== null && speech(v));
    expect(heard).toEqual(Array.from({ length: 20 }, (_, k) => 10 + k));
    // the delay was taken back out of the silence that followed, and it plays at the tick after arrival again
    expect(jb.stats.trimmed).toBe(5);
    expect(played.slice(-5)).toEqual([60, 61, 62, 63, 64]);
    expect(jb.stats.missing).toBe(0);
  });

  it('with isSilent, trims speech too once the delay has stood for trimSpeechAfterTicks', () => {
    const jb = new UplinkJitterBuffer<number>('adaptive', 8, { isSilent: () => false, trimSpeechAfterTicks: 10 });
    drive(jb, 10);
    for (let s = 10; s < 15; s++) jb.push(s, s, s * 80 + 30);
    drive(jb, 12, { from: 15 });
    expect(jb.stats.trimmed).toBe(1); // one frame after 10 ticks, not one every 4
    drive(jb, 60, { from: 27 });
    expect(jb.stats.trimmed).toBe(5);
  });

  it('holds a frame more when the jitter is wider than a tick can cover, and converges back on a clean link', () => {
    const jb = new UplinkJitterBuffer<number>('adaptive', 8, { windowFrames: 20 });
    drive(jb, 12, { phase: 10 });
    expect(jb.extraFrames).toBe(0);
    // then every third frame 110 ms late: no tick phase can cover that
    const jittery = (s: number) => (s % 3 === 0 ? 110 : 0);
    drive(jb, 30, { from: 12, phase: 10, delay: jittery });
    expect(jb.stats.missing).toBeGreaterThan(0);
    expect(jb.extraFrames).toBeGreaterThanOrEqual(1);
    const missingJittery = jb.stats.missing;
    drive(jb, 30, { from: 42, phase: 10, delay: jittery });
    expect(jb.stats.missing - missingJittery).toBeLessThan(2); // the held frame covers it now
    // the link calms down: back to no frame held
    drive(jb, 80, { from: 72, phase: 10 });
    expect(jb.extraFrames).toBe(0);
    expect(jb.depth).toBeLessThanOrEqual(1);
  });

  it('conceals the tick that widens the buffer (a fading repeat of the last frame), never a hole of silence', () => {
    const jb = new UplinkJitterBuffer<number>('adaptive', 8, { windowFrames: 20, conceal: (last, run) => (run === 1 ? -(last as number) : null) });
    const jittery = (s: number) => (s >= 12 && s % 3 === 0 ? 110 : 0);
    const played = drive(jb, 40, { phase: 10, delay: jittery });
    expect(jb.stats.held).toBeGreaterThanOrEqual(1);
    // every slot without a frame of its own (missing or held) is concealed: right after a frame played, its
    // fading repeat (marked negative here); only a second gap in a row falls silent
    const gaps = played.map((v, i) => ({ v, i })).filter(({ v }) => v === null || v < 0);
    expect(gaps.length).toBe(jb.stats.missing + jb.stats.held);
    for (const { v, i } of gaps) {
      const before = played[i - 1];
      if (before !== null && before! >= 0) expect(v).toBe(-before!);
      else expect(v).toBeNull();
    }
  });

  it("says whether the coming tick's frame is in, and measures slack against the deadline when the tick runs early", () => {
    const jb = new UplinkJitterBuffer<number>();
    expect(jb.readyForTick(0)).toBeNull(); // not sending: the tick does not wait on this player
    drive(jb, 12, { phase: 70 }); // frames arrive 10 ms before each tick
    expect(jb.readyForTick(12 * 80 + 65)).toBe(false); // frame 12 is due and not here yet
    jb.push(12, 12, 12 * 80 + 70);
    expect(jb.readyForTick(12 * 80 + 70)).toBe(true);
    // the tick runs at the arrival, 10 ms before its deadline: the grid's slack (10 ms) is what is measured
    expect(jb.pop(12 * 80 + 70, 10)).toBe(12);
    expect(jb.lastWait).toEqual({ tickMs: 0, heldMs: 0 });
    expect(jb.phaseWishMs()).toBeCloseTo(4, 6);
    // stopped sending: after the idle time the player is not waited on
    expect(jb.readyForTick(13 * 80 + 70)).toBe(false);
    expect(jb.readyForTick(12 * 80 + 70 + 240)).toBeNull();
  });

  it('starts afresh when the player stops sending, without counting the silence as missing frames', () => {
    const jb = new UplinkJitterBuffer<number>();
    drive(jb, 5);
    for (let t = 6; t < 12; t++) jb.pop(t * 80);
    const missing = jb.stats.missing;
    expect(missing).toBeLessThanOrEqual(3); // the idle timeout (three ticks), then nothing more is counted
    for (let t = 12; t < 20; t++) jb.pop(t * 80);
    expect(jb.stats.missing).toBe(missing);
    jb.push(30, 30, 30 * 80 + 30);
    expect(jb.pop(31 * 80)).toBe(30);
  });
});
