/**
 * The server's echo gate: a player's uplink carrying the NPC voice it was sent (after a network round trip,
 * a playout buffer and a room) comes out without it; a player no NPC talks to passes untouched; a broken frame
 * turns the gate off for that player instead of losing their voice.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { EchoGateSlots } from '../../server/voice/echo-gate-slots.ts';
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

  it('passes a player talking while the NPC voice is sent, and holds back a faint residual', async () => {
    const gate = new PlayerEchoGate();
    const speech = (await playerSpeech(['Wait, stop, I have a question about the valves.'])).samples;
    const sent = frames(far);
    const talk = frames(speech);
    let inSum = 0;
    let outSum = 0;
    talk.forEach((f, k) => {
      gate.sent(sent[k]!); // the NPC talks all along at full level; this player's client cancelled its echo
      const out = gate.filter(f);
      inSum += rms(f) ** 2;
      outSum += rms(out) ** 2;
    });
    // measured −5 dB: the canceller's double-talk handling about −3, and the residual gate takes syllables
    // 15 dB under the NPC's loudest frame of the last second (the loud ones, which make a barge-in, pass)
    expect(Math.abs(db(outSum, inSum))).toBeLessThan(6);
    // a residual 30 dB under what the speakers play is no talker: attenuated
    const k = talk.length;
    gate.sent(sent[k]!);
    const faint = sent[k - 9]!.map((v) => v * 0.03);
    const out = gate.filter(faint.slice());
    expect(rms(out.subarray(FRAME_SAMPLES / 2))).toBeLessThan(rms(faint) * 0.1);
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

  it('runs no more cancellers at once than the process allows; a gate without a slot passes its player through until one frees', () => {
    const full: number[] = [];
    const slots = new EchoGateSlots(1, (max) => full.push(max));
    const a = new PlayerEchoGate(undefined, { slots, idleMs: 160 });
    const b = new PlayerEchoGate(undefined, { slots, idleMs: 160 });
    const npc = far.subarray(0, FRAME_SAMPLES);
    const mic = new Float32Array(FRAME_SAMPLES).fill(0.05);
    a.sent(npc);
    a.filter(mic);
    b.sent(npc);
    expect(b.filter(mic)).toBe(mic); // passed through, not cancelled
    expect([a.stats.running, b.stats.running, slots.running]).toEqual([true, false, 1]);
    b.sent(npc);
    b.filter(mic);
    expect(full).toEqual([1]); // told once while the cap holds
    expect(slots.refusals).toBe(2);
    // a falls idle (no NPC voice for longer than idleMs): its slot frees and b's next frame takes it
    for (let k = 0; k < 4; k++) a.filter(mic);
    expect(a.stats.running).toBe(false);
    b.sent(npc);
    expect(b.filter(mic)).not.toBe(mic);
    expect([b.stats.running, slots.running]).toEqual([true, 1]);
    b.dispose(); // a disposed gate gives its slot back
    expect(slots.running).toBe(0);
    a.dispose();
    expect(slots.running).toBe(0);
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
