/**
 * The server's echo gate: a player's uplink carrying the NPC voice it was sent (after a network round trip,
 * a playout buffer and a room) comes out without it; a player no NPC talks to passes untouched; a broken frame
 * turns the gate off for that player instead of losing their voice.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { PlayerEchoGate } from '../../server/voice/echo-gate.ts';
import { rms } from '../support/audio.ts';
import { EchoPath } from './support/room.ts';
import { db, npcSpeech, playerSpeech } from './support/signals.ts';

let far: Float32Array;
beforeAll(async () => {
  far = await npcSpeech(8);
}, 60_000);

const frames = (x: Float32Array) => Array.from({ length: Math.floor(x.length / FRAME_SAMPLES) }, (_, i) => x.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES));

describe('server echo gate', () => {
  it("removes the NPC voice a player's speakers sent back, 7 frames and a room later", () => {
    const gate = new PlayerEchoGate();
    const room = new EchoPath({ delayMs: 60, rt60: 0.4, gainDb: -3 });
    const lag = 7; // playout buffer + both network legs + the server's jitter buffer, in frames
    const sent = frames(far);
    let inSum = 0;
    let outSum = 0;
    sent.forEach((frame, k) => {
      gate.sent(frame, 0.5); // the NPC 2 m away
      const played = k >= lag ? sent[k - lag]! : new Float32Array(FRAME_SAMPLES);
      const uplink = room.process(played.map((v) => v * 0.5));
      const out = gate.filter(uplink);
      if (k * 0.08 >= 4) (inSum += rms(uplink) ** 2), (outSum += rms(out) ** 2);
    });
    expect(gate.stats.running).toBe(true);
    expect(Math.abs(gate.stats.delayMs! - (lag * 80 + 60))).toBeLessThanOrEqual(40);
    expect(db(inSum, outSum)).toBeGreaterThan(20);
    gate.dispose();
  });

  it('passes a player untouched while no NPC voice is sent to them', async () => {
    const gate = new PlayerEchoGate();
    const speech = (await playerSpeech(['Where should I go first?'])).samples;
    for (const f of frames(speech)) {
      const out = gate.filter(f);
      expect(out).toBe(f); // not even copied
    }
    expect(gate.stats.running).toBe(false);
  });

  it('a malformed frame turns the gate off for that player, and their voice still passes', () => {
    const gate = new PlayerEchoGate();
    gate.sent(far.subarray(0, FRAME_SAMPLES));
    const odd = new Float32Array(100).fill(0.1);
    expect(gate.filter(odd)).toBe(odd);
    expect(gate.failed?.message).toMatch(/100 samples/);
    const next = new Float32Array(FRAME_SAMPLES).fill(0.2);
    gate.sent(far.subarray(0, FRAME_SAMPLES));
    expect(gate.filter(next)).toBe(next);
  });
});
