/**
 * The Mars-mission ship's layout, shared by the server (where NPCs stand, who hears whom) and the scene (where
 * the walls are). Metres; y is up; the ship runs along +z from the bridge to the reactor.
 */
import type { Vec3 } from '../protocol/messages.ts';

export interface NpcSpot {
  sheet: string;
  position: Vec3;
  facing: Vec3;
}

export const MARS_MISSION_ROOM = 'mars-mission';

/** Where the player starts: the corridor, between the crew quarters. */
export const PLAYER_START: Vec3 = [0, 1.7, 4];

export const MARS_MISSION_NPCS: NpcSpot[] = [
  // Alex at the failing reactor core, aft
  { sheet: 'alex', position: [1.5, 0, 26], facing: [0, 0, -1] },
  // the flight surgeon in the med bay, off the corridor to port
  { sheet: 'okafor', position: [-7, 0, 12], facing: [1, 0, 0] },
  // the commander on the bridge, forward
  { sheet: 'vance', position: [0, 0, -8], facing: [0, 0, 1] },
];
