// NPCs hear NPCs (server/scenes/npc-hearing.ts) through the hearing stage: weights as for players, from the frame
// spoken (heard on the next tick, once), players first, the first speaker keeps the floor, and the turn budget.
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { NpcEvent } from '../../protocol/messages.ts';
import { NpcHearing, PLAYER_HOLD_MS } from '../../server/scenes/npc-hearing.ts';
import { FRAME_MS } from '../../protocol/frame.ts';

const HOLD_TICKS = Math.round(PLAYER_HOLD_MS / FRAME_MS);
import { hearingWeight } from '../../server/voice/hearing.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import type { NpcStream } from '../../server/sessions/npc-stream.ts';
import { amplitude, rms, tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';
import { stubIntake } from '../support/intake.ts';

const A_TONE = tone(FRAME_SAMPLES, 400, 0.2);
const silence = new Float32Array(FRAME_SAMPLES);

function scene() {
  const a = testStream('a', { position: [0, 0, 0], facing: [0, 0, 1] });
  const b = testStream('b', { position: [0, 0, 3], facing: [0, 0, -1] });
  const c = testStream('c', { position: [3, 0, 0], facing: [-1, 0, 0] });
  for (const s of [a, b, c]) s.earHeight = 1.6;
  const npcs = new NpcHearing();
  const stage = new HearingStage(createParleyMetrics());
  stage.npcVoices = npcs;
  let players: HearingPlayer[] = [];
  /** one tick: hear (players' frames), then each NPC speaks its frame (as the conductor's step would) */
  const tick = (spoken: Partial<Record<string, { frame: Float32Array; events?: NpcEvent[] }>>) => {
    npcs.beginTick();
    stage.run(players, [a, b, c]);
    const heard = { a: a.input.slice(), b: b.input.slice(), c: c.input.slice() };
    for (const s of [a, b, c]) {
      const said = spoken[s.id];
      if (said) npcs.spoke(s, said.frame, said.events ?? []);
    }
    return heard;
  };
  const talking = (frame: Float32Array | null, position: [number, number, number] = [0, 1.6, 1]): HearingPlayer => ({
    position,
    facing: [0, 0, -1],
    intake: frame ? stubIntake(() => frame) : null,
    state: { heardBy: '' },
  });
  return { a, b, c, npcs, tick, talking, setPlayers: (p: HearingPlayer[]) => (players = p) };
}

const weight = (listener: NpcStream, speaker: NpcStream) =>
  hearingWeight(
    { position: [listener.position[0], 1.6, listener.position[2]], facing: listener.facing, hearingRadius: listener.def.hearingRadius },
    { position: [speaker.position[0], 1.6, speaker.position[2]], facing: speaker.facing },
  );

describe('NPCs hear NPCs', () => {
  it('by default no NPC hears another', () => {
    const { tick } = scene();
    tick({ a: { frame: A_TONE } });
    const heard = tick({});
    expect(rms(heard.b)).toBe(0);
    expect(rms(heard.c)).toBe(0);
  });

  it('with hears_npcs, the frame spoken is heard on the next tick, once, weighted by distance and facing', () => {
    const { a, b, c, tick } = scene();
    b.def.hearsNpcs = true;
    c.def.hearsNpcs = true;
    const same = tick({ a: { frame: A_TONE, events: [{ e: 'speech-started', i: 0 }] } });
    expect(rms(same.b)).toBe(0); // not in the tick it was spoken
    const next = tick({});
    // b: 3 m in front of a, a faces it → 1/3; c: 3 m to a's side → 1/3 × (0.3 + 0.7 × 0.5)
    expect(amplitude(next.b, 400)).toBeCloseTo(0.2 * weight(b, a), 3);
    expect(amplitude(next.c, 400)).toBeCloseTo(0.2 * weight(c, a), 3);
    expect(weight(b, a)).toBeCloseTo(1 / 3, 3);
    expect(weight(c, a)).toBeCloseTo((1 / 3) * 0.65, 3);
    expect(rms(next.a)).toBe(0); // never its own voice
    expect(rms(tick({}).b)).toBe(0); // heard once
  });

  it('hears_npcs as a list: only the NPCs named', () => {
    const { b, c, tick } = scene();
    b.def.hearsNpcs = ['c'];
    tick({ a: { frame: A_TONE }, c: { frame: tone(FRAME_SAMPLES, 700, 0.2) } });
    const next = tick({});
    expect(amplitude(next.b, 400)).toBeLessThan(1e-4);
    expect(amplitude(next.b, 700)).toBeCloseTo(0.2 * weight(b, c), 3);
  });

  it("a player's voice outranks NPC voices: none reach that NPC while it is heard and for PLAYER_HOLD_MS after", () => {
    const { a, b, tick, talking, setPlayers } = scene();
    b.def.hearsNpcs = true;
    const voice = tone(FRAME_SAMPLES, 250, 0.3);
    setPlayers([talking(voice, [0, 1.6, 4])]); // 1 m from b
    tick({ a: { frame: A_TONE } });
    let heard = tick({ a: { frame: A_TONE } });
    expect(amplitude(heard.b, 250)).toBeGreaterThan(0.1);
    expect(amplitude(heard.b, 400)).toBeLessThan(1e-4);
    setPlayers([talking(silence, [0, 1.6, 4])]); // the player stops
    for (let t = 0; t < HOLD_TICKS; t++) {
      heard = tick({ a: { frame: A_TONE } });
      expect(amplitude(heard.b, 400), `tick ${t} after the player stopped`).toBeLessThan(1e-4);
    }
    tick({ a: { frame: A_TONE } });
    heard = tick({ a: { frame: A_TONE } });
    expect(amplitude(heard.b, 400)).toBeCloseTo(0.2 * weight(b, a), 3); // back after the hold
  });

  it('the first speaker keeps the floor: it does not hear an NPC who started after it (same tick: the one placed later)', () => {
    const { a, b, tick } = scene();
    a.def.hearsNpcs = true;
    b.def.hearsNpcs = true;
    const bTone = tone(FRAME_SAMPLES, 600, 0.2);
    tick({ a: { frame: A_TONE, events: [{ e: 'speech-started', i: 0 }] }, b: { frame: bTone, events: [{ e: 'speech-started', i: 0 }] } });
    const heard = tick({ a: { frame: A_TONE }, b: { frame: bTone } });
    expect(amplitude(heard.a, 600)).toBeLessThan(1e-4); // a was placed first: it keeps talking
    expect(amplitude(heard.b, 400)).toBeCloseTo(0.2 * weight(b, a), 3); // b hears a, and yields as to anyone
    // b stops; later b starts again while a still speaks: a still does not hear it
    tick({ a: { frame: A_TONE }, b: { frame: silence, events: [{ e: 'interrupted', i: 1 }] } });
    tick({ a: { frame: A_TONE }, b: { frame: bTone, events: [{ e: 'speech-started', i: 3 }] } });
    expect(amplitude(tick({ a: { frame: A_TONE }, b: { frame: bTone } }).a, 600)).toBeLessThan(1e-4);
    // once a is silent, it hears b
    tick({ a: { frame: silence, events: [{ e: 'speech-ended', i: 5 }] }, b: { frame: bTone } });
    expect(amplitude(tick({ b: { frame: bTone } }).a, 600)).toBeCloseTo(0.2 * weight(a, b), 3);
  });

  it('turn budget: after npc_turns turns with no player, it stops hearing NPCs; a player speaking restores it', () => {
    const { a, b, npcs, tick, talking, setPlayers } = scene();
    b.def.hearsNpcs = true;
    b.def.npcTurns = 2;
    const turn = (n: number) => {
      tick({ b: { frame: A_TONE, events: [{ e: 'speech-started', i: n }] } });
      tick({ b: { frame: silence, events: [{ e: 'speech-ended', i: n + 1 }] } });
    };
    turn(0);
    tick({ a: { frame: A_TONE } });
    expect(amplitude(tick({}).b, 400)).toBeGreaterThan(0.05); // one turn spent: still listening
    turn(10);
    expect(npcs.listening(b)).toBe(false);
    tick({ a: { frame: A_TONE } });
    expect(amplitude(tick({}).b, 400)).toBeLessThan(1e-4); // budget spent: deaf to NPCs
    expect(npcs.stats.budgetStops).toBe(1);
    // a player speaks to b, then falls quiet for the hold: b hears NPCs again, with a fresh budget
    setPlayers([talking(tone(FRAME_SAMPLES, 250, 0.3), [0, 1.6, 4])]);
    tick({});
    setPlayers([talking(silence, [0, 1.6, 4])]);
    for (let t = 0; t < HOLD_TICKS + 1; t++) tick({});
    tick({ a: { frame: A_TONE } });
    expect(amplitude(tick({}).b, 400)).toBeCloseTo(0.2 * weight(b, a), 3);

  });
});
