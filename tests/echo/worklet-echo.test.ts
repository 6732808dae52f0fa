/**
 * The capture worklet with its echo canceller, run by node-web-audio-api through a room built from Web Audio
 * nodes (tests/echo/support/worklet-run.ts): the NPC's voice that comes back into the mic is cancelled before
 * the frames are posted.
 */
import { describe, expect, it } from 'vitest';
import { erleOfFrames, npcSpeech } from './support/signals.ts';
import { runCaptureWorklet } from './support/worklet-run.ts';

describe('capture worklet echo cancellation (node-web-audio-api)', () => {
  it('cancels the speakers’ signal coming back through a room (120 ms, RT60 0.4 s, −6 dB)', async () => {
    const far = await npcSpeech(8);
    const run = await runCaptureWorklet({ far, path: { delayMs: 120, rt60: 0.4, gainDb: -6 }, aec: true });
    const powers = run.stats.filter((s) => s?.power).map((s) => s!.power!);
    expect(powers.length).toBeGreaterThan(80); // every frame carried the canceller's figures
    const r = erleOfFrames(powers);
    console.log(`worklet ERLE ${r.steadyDb.toFixed(1)} dB from 2 s; windows ${r.windows.map((w) => w.db.toFixed(0)).join(' ')}`);
    expect(r.steadyDb).toBeGreaterThan(12); // bench: 18 dB over 2–8 s, above 25 dB from about 5 s
    expect(Math.max(...r.windows.slice(-4).map((w) => w.db))).toBeGreaterThan(25);
    // the delay it found: the room's 120 ms (the speakers' tap and the mic share the context clock)
    expect(Math.abs(run.stats[run.stats.length - 1]!.delayMs - 120)).toBeLessThanOrEqual(30);
  }, 900_000); // node-web-audio-api renders a worklet graph slowly on a loaded 2-core machine
});
