/**
 * The Mars-mission ship's layout, read from the scene data the server reads too (scenes/mars-mission.json):
 * where NPCs stand (who hears whom) and where the player starts. Metres; y is up; the ship runs along +z from
 * the bridge to the reactor. The scene's walls are in scene/ship-plan.ts.
 */
import type { Vec3 } from '../protocol/messages.ts';
import scene from '../scenes/mars-mission.json' with { type: 'json' };

export interface NpcSpot {
  sheet: string;
  position: Vec3;
  facing: Vec3;
}

export const MARS_MISSION_ROOM: string = scene.room;

/** Where the player starts: the corridor, between the crew quarters. */
export const PLAYER_START = scene.playerStart as Vec3;

export const MARS_MISSION_NPCS: NpcSpot[] = scene.npcs.map((n) => ({ sheet: n.sheet, position: n.position as Vec3, facing: n.facing as Vec3 }));
