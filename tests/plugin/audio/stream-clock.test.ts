/**
 * The voice's samples-played clock on the main thread stops at an interruption at once: reports the worklet sent
 * before it handled the flush (still on their way) are not read, and the clock does not run on by extrapolation.
 */
import { describe, expect, it } from 'vitest';
import { StreamClock } from '../../../plugin/audio/stream-clock.ts';
import type { PlaybackClockMsg } from '../../../plugin/worklets/messages.ts';

const report = (pos: number, ctxTime: number, playing: boolean, flushSeq: number, runStart = 0): PlaybackClockMsg => ({
  type: 'clock', pos, ctxTime, playing, flushSeq, runStart, bufferedMs: 0, targetMs: 60, underruns: 0, late: 0, concealed: 0, overrunDropped: 0,
});

describe('StreamClock', () => {
  it('stands still from the interruption until the worklet reports the flush done, then reads where the voice stopped', () => {
    const ctx = { currentTime: 10, outputLatency: 0, baseLatency: 0 };
    const clock = new StreamClock(ctx as unknown as BaseAudioContext, false);
    clock.onReport(report(48_000, 10, true, 0));
    ctx.currentTime = 10.05;
    expect(clock.position).toBeCloseTo(48_000 + 1200); // 50 ms on, extrapolated
    const seq = clock.interrupt();
    expect(seq).toBe(1);
    const atCut = clock.position;
    // a report from before the flush arrives late, and time passes: neither moves the clock
    clock.onReport(report(48_000 + 1920, 10.08, true, 0));
    ctx.currentTime = 10.15;
    expect(clock.position).toBe(atCut);
    expect(clock.playing).toBe(false);
    // the worklet's report of the flush: parked where the voice stopped (a little after the cut: the message hop)
    clock.onReport(report(atCut + 240, 10.06, false, 1));
    expect(clock.position).toBe(atCut + 240);
    ctx.currentTime = 10.5;
    expect(clock.position).toBe(atCut + 240);
    // new frames after the cut: the clock runs again on their positions
    clock.onReport(report(60 * 1920, 10.5, true, 1));
    expect(clock.position).toBe(60 * 1920);
    expect(clock.playing).toBe(true);
  });

  it('a run that just started reads at its start, not back in the gap or the flushed speech before it', () => {
    const ctx = { currentTime: 20, outputLatency: 0.04, baseLatency: 0 };
    const clock = new StreamClock(ctx as unknown as BaseAudioContext, false);
    clock.onReport(report(148.5 * 1920, 20, true, 0, 140 * 1920));
    clock.interrupt();
    clock.onReport(report(148.6 * 1920, 20.01, false, 1, 140 * 1920));
    // the frames after the cut start playing at 159: for the output latency nothing of them is heard yet
    clock.onReport(report(159 * 1920 + 100, 20.3, true, 1, 159 * 1920));
    ctx.currentTime = 20.3;
    expect(clock.position).toBe(159 * 1920); // not 159 × 1920 + 100 − 40 ms (frame 158, flushed, never played)
    ctx.currentTime = 20.4; // 100 ms on: past the latency, the run is heard
    expect(clock.position).toBeCloseTo(159 * 1920 + 100 + 0.06 * 24_000);
  });
});
