/**
 * The closed loop of an NPC on loudspeakers (tests/echo/support/loop.ts): the real rehearsal engine, a loud room
 * (150 ms, RT60 0.5 s, 0 dB), no player at all. Without echo handling the NPC takes its own voice for a player
 * barging in and answers itself; with the plugin's canceller and the server's gate it does (nearly) not, and its
 * own voice reaches its hearing mix below −30 dBFS. The 5-minute figures are in bench/echo.bench.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopEngine, RehearsalEngine, selfTalk } from './support/scenarios.ts';

let engine: RehearsalEngine;
beforeAll(async () => {
  engine = await loopEngine();
}, 120_000);
afterAll(async () => {
  await engine?.dispose();
});

describe('an NPC on loudspeakers, nobody talking', () => {
  it('hears itself without echo handling, and (nearly) never with it', async () => {
    const room = { delayMs: 150, rt60: 0.5, gainDb: 0 };
    const before = await selfTalk(engine, 25, { path: room, clientAec: false, serverGate: false });
    const after = await selfTalk(engine, 25, { path: room, clientAec: true, serverGate: true });
    console.log(`self-talk: before ${before.falseBargeIns} false barge-ins, ${before.falsePauses} false pauses, ${before.heardDbfs.toFixed(1)} dBFS; after ${after.falseBargeIns}, ${after.falsePauses}, ${after.heardDbfs.toFixed(1)} dBFS`);
    expect(before.falseBargeIns).toBeGreaterThanOrEqual(5);
    expect(before.heardDbfs).toBeGreaterThan(-30);
    expect(after.falseBargeIns).toBeLessThanOrEqual(Math.floor(before.falseBargeIns / 5));
    expect(after.heardDbfs).toBeLessThan(-30);
    expect(after.npcSpeechS).toBeGreaterThanOrEqual(25);
  }, 600_000);
});
