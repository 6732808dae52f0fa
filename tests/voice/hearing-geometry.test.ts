/**
 * Where NPCs hear from (issue 14): scenes place an NPC where it stands and players report their eye position,
 * so the NPC hears at its ear (NpcPlacement.earHeight above its position). Before this a standing player was
 * never closer than 1.7 m to an NPC at y = 0 and its hearing weight could not pass about 0.59.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { Kind, type Vec3 } from '../../protocol/messages.ts';
import { createEncoder } from '../../server/codec/index.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { parseScene } from '../../server/room/scenes.ts';
import { HearingStage, type HearingPlayer } from '../../server/voice/hearing-stage.ts';
import { PlayerVoiceIntake } from '../../server/voice/intake.ts';
import { amplitude, tone } from '../support/audio.ts';
import { testStream } from '../support/npc-stream.ts';

const EYES = 1.7;

function speaking(position: Vec3, facing: Vec3): HearingPlayer {
  const intake = new PlayerVoiceIntake('pcm16', { primeFrames: 1 });
  intake.push({ k: Kind.Voice, seq: 0, t: 0, codec: 'pcm16', data: createEncoder('pcm16').encode(tone(FRAME_SAMPLES, 300, 0.2)) });
  return { position, facing, intake, state: { heardBy: '' } };
}

/** The weight an NPC standing at the origin (facing +z) gives a player whose eyes are at `eye`, facing it. */
function heardWeight(earHeight: number, eye: Vec3): number {
  const npc = testStream('alex', { position: [0, 0, 0], facing: [0, 0, 1], hearingRadius: 6 });
  npc.earHeight = earHeight;
  const toNpc: Vec3 = [-eye[0], 0, -eye[2]];
  const n = Math.hypot(...toNpc);
  new HearingStage(createParleyMetrics()).run([speaking(eye, [toNpc[0] / n, 0, toNpc[2] / n])], [npc]);
  return amplitude(npc.input, 300) / 0.2;
}

describe('hearing geometry', () => {
  it('a standing player 1 m from a standing NPC is heard at full level, ear to mouth', () => {
    expect(heardWeight(1.6, [0, EYES, 1])).toBeGreaterThan(0.98); // eyes 10 cm above the ear: a hair under 1
    // At ground level, as before: 1.7 m up and 1 m across, and the player's level gaze misses the NPC's "ear".
    const d = Math.hypot(1, EYES);
    expect(heardWeight(0, [0, EYES, 1])).toBeCloseTo((0.3 + 0.7 * (1 + 1 / d) / 2) / d, 2); // about 0.42
  });

  it('falls off with distance as before, now measured across the room rather than through the floor', () => {
    expect(heardWeight(1.6, [0, EYES, 2])).toBeCloseTo(0.5, 2);
    expect(heardWeight(1.6, [0, EYES, 4])).toBeCloseTo(0.25, 2);
    expect(heardWeight(1.6, [3, EYES, 0])).toBeCloseTo(1 / 3, 2);
  });

  it('the Mars-mission scene gives every NPC an ear height, so its players can be heard at full level', () => {
    const scene = parseScene(JSON.parse(readFileSync(new URL('../../scenes/mars-mission.json', import.meta.url), 'utf8')), 'mars-mission.json');
    for (const npc of scene.npcs) expect(npc.earHeight, npc.sheet).toBeGreaterThan(1.2);
    const alex = scene.npcs.find((n) => n.sheet === 'alex')!;
    expect(heardWeight(alex.earHeight!, [0, scene.playerStart[1], 1.2])).toBeGreaterThan(0.8);
  });

  it('scene files reject a nonsense ear height', () => {
    const scene = (earHeight: unknown) => ({ room: 'r', npcs: [{ sheet: 'a', position: [0, 0, 0], earHeight }] });
    expect(() => parseScene(scene(-1), 's.json')).toThrow(/earHeight/);
    expect(() => parseScene(scene('tall'), 's.json')).toThrow(/earHeight/);
    expect(() => parseScene(scene(40), 's.json')).toThrow(/earHeight/);
    expect(parseScene(scene(1.6), 's.json').npcs[0]!.earHeight).toBe(1.6);
    expect(parseScene({ room: 'r', npcs: [{ sheet: 'a', position: [0, 0, 0] }] }, 's.json').npcs[0]!.earHeight).toBeUndefined();
  });
});
