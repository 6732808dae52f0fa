// Whom an NPC answers (server/scenes/addressee.ts, filled by the hearing stage): when it starts speaking, the player
// it heard loudest within the window, else the NPC; nobody after the window or when nothing
// was heard. The synced `talkingTo` through a real room is checked by the browser test (tests/e2e/med-bay-scene.test.ts).
import { describe, expect, it } from 'vitest';
import { FRAME_MS, FRAME_SAMPLES } from '../../protocol/frame.ts';
import { ADDRESSEE_WINDOW_MS, Addressees } from '../../server/scenes/addressee.ts';
import { NpcHearing, PLAYER_HOLD_MS } from '../../server/scenes/npc-hearing.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';
import { stubIntake } from '../support/intake.ts';

const VOICE = tone(FRAME_SAMPLES, 400, 0.2);
const FAINT = tone(FRAME_SAMPLES, 400, 0.004);

function scene() {
  const a = testStream('a', { position: [0, 0, 0], facing: [0, 0, 1] });
  const b = testStream('b', { position: [0, 0, 2], facing: [0, 0, -1] });
  for (const s of [a, b]) {
    s.earHeight = 1.6;
    s.def.hearsNpcs = true;
  }
  const npcs = new NpcHearing();
  const who = new Addressees();
  const stage = new HearingStage(createParleyMetrics());
  stage.npcVoices = npcs;
  stage.addressees = who;
  const player = (id: string, frame: Float32Array | null): HearingPlayer => ({
    position: [1, 1.6, 1],
    facing: [-1, 0, 0],
    intake: frame ? stubIntake(() => frame) : null,
    state: { heardBy: '', id },
  });
  /** one tick: players' frames heard, then each NPC speaks its frame */
  const tick = (players: HearingPlayer[], spoken: Partial<Record<'a' | 'b', Float32Array>>) => {
    npcs.beginTick();
    who.beginTick();
    stage.run(players, [a, b]);
    if (spoken.a) npcs.spoke(a, spoken.a, []);
    if (spoken.b) npcs.spoke(b, spoken.b, []);
  };
  return { a, b, who, tick, player };
}

describe('whom an NPC answers', () => {
  it('nobody before anything was heard; the other NPC once its voice reached it', () => {
    const { who, tick } = scene();
    tick([], {});
    expect(who.of('a')).toBe('');
    tick([], { b: VOICE });
    tick([], {}); // B's frame is heard one tick after it was spoken
    expect(who.of('a')).toBe('b');
    expect(who.of('b')).toBe('');
  });

  it("a player's voice outranks an NPC's, and a faint one (below the heard level) names no one", () => {
    const { who, tick, player } = scene();
    tick([player('p1', VOICE)], { b: VOICE });
    tick([player('p1', VOICE)], {});
    expect(who.of('a')).toBe('p1');
    expect(who.of('b')).toBe('p1');
    const quiet = scene();
    quiet.tick([quiet.player('p2', FAINT)], {});
    expect(quiet.who.of('a')).toBe('');
  });

  it('a player heard within the window outranks an NPC heard since; after the window the NPC, then nobody', () => {
    const { who, tick, player } = scene();
    tick([player('p1', VOICE)], {});
    expect(who.of('a')).toBe('p1');
    // an NPC voice heard after the player (B finishing a phrase over the end of their words): A answers the player
    who.heard('a', 'b', 'npc');
    expect(who.of('a')).toBe('p1');
    // past the player hold, A hears NPCs again; B speaks to it
    for (let i = 0; i < Math.ceil(PLAYER_HOLD_MS / FRAME_MS); i++) tick([player('p1', null)], {});
    tick([], { b: VOICE });
    tick([], {});
    expect(who.of('a')).toBe('b');
    for (let i = 0; i < Math.round(ADDRESSEE_WINDOW_MS / FRAME_MS); i++) tick([], {});
    expect(who.of('a')).toBe('b'); // exactly the window since B was heard
    tick([], {});
    expect(who.of('a')).toBe('');
    tick([player('p3', VOICE)], {});
    expect(who.of('a')).toBe('p3');
    who.forget('p3');
    expect(who.of('a')).toBe('');
  });
});
