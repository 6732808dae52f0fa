/**
 * The player cutting in over an NPC on loudspeakers, through the closed loop (tests/echo/support/loop.ts: the real
 * rehearsal engine, a loud room of 150 ms / RT60 0.5 s / 0 dB, the plugin's canceller): the NPC stops for them
 * within the 250 ms at the 95th percentile of 20 cuts.
 *
 * The NPC's voice is pinned (support/pinned-voice.ts): each process would hear a slightly different NPC, and on
 * some of those voices one or two cuts of 20 took over a second (the canceller took the player's first syllables
 * far down, Silero then scored their clear words as silence, and the pause ran out). It is pinned to one such
 * voice; the hold on a loud pause (turn-taking's pauseHoldMaxMs) is what brings those cuts back, and without it
 * this test fails (1114, 1078 ms).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleTalk, percentile, RehearsalEngine } from './support/scenarios.ts';
import { withVoiceClock } from './support/pinned-voice.ts';

/** a start time whose NPC voice had three cuts over a second without the hold (stop 36's voice C) */
const VOICE_CLOCK = 1.5e12;

let engine: RehearsalEngine;
beforeAll(async () => {
  engine = await withVoiceClock(VOICE_CLOCK, () => RehearsalEngine.create({ tts: 'inline', quiet: true, ttsWaitMs: 60_000 }));
}, 120_000);
afterAll(async () => {
  await engine?.dispose();
});

describe('double talk on loudspeakers', () => {
  it('the player cutting in stops the NPC within 250 ms at the 95th percentile of 20 cuts', async () => {
    const r = await doubleTalk(engine, 20, { path: { delayMs: 150, rt60: 0.5, gainDb: 0 }, clientAec: true, serverGate: false });
    console.log(`double talk: stop after ${r.latenciesMs.map((v) => v.toFixed(0)).join(' ')} ms; missed ${r.missed}`);
    expect(r.missed).toBe(0);
    expect(percentile(r.latenciesMs, 95)).toBeLessThanOrEqual(250);
    expect(Math.max(...r.latenciesMs)).toBeLessThan(500);
  }, 300_000);
});
