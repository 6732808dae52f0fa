/** Scene data: the Mars-mission scene both the server and the sample game read, and bad scene files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadScenes, parseScene } from '../../server/room/scenes.ts';
import { MARS_MISSION_NPCS, MARS_MISSION_ROOM, PLAYER_START } from '../../sample-game/layout.ts';

const SCENES = fileURLToPath(new URL('../../scenes', import.meta.url));

describe('scenes', () => {
  it('the server reads the same Mars-mission layout the sample game imports', () => {
    const scenes = loadScenes(SCENES);
    const mars = scenes[MARS_MISSION_ROOM]!;
    expect(mars.npcs.map((n) => n.sheet)).toEqual(['alex', 'okafor', 'vance']);
    // the game places meshes from sheet, position and facing; earHeight is the server's hearing geometry
    expect(mars.npcs.map(({ sheet, position, facing }) => ({ sheet, position, facing }))).toEqual(MARS_MISSION_NPCS);
    expect(mars.npcs.every((n) => n.earHeight === 1.6)).toBe(true);
    expect(mars.playerStart).toEqual(PLAYER_START);
  });

  it('a bad scene is an error naming the file and the field', () => {
    expect(() => parseScene({ room: 'x', npcs: [{ sheet: 'a', position: [0, 0] }] }, 'x.json')).toThrow(/x\.json: npcs\[0\]\.position must be \[x, y, z\]/);
    expect(() => parseScene({ room: 'x', npcs: [{ sheet: 'a', position: [0, 0, 0] }, { sheet: 'a', position: [1, 0, 0] }] }, 'x.json')).toThrow(/NPC id 'a' appears twice/);
    expect(() => parseScene({ npcs: [] }, 'x.json')).toThrow(/x\.json: room must be a non-empty string/);
    expect(() => parseScene({ room: 'x', npcs: [{ sheet: 'a', position: [0, 0, 0], facing: [0, 'up', 1] }] }, 'x.json')).toThrow(/facing/);
    const dir = mkdtempSync(path.join(tmpdir(), 'scenes-'));
    try {
      writeFileSync(path.join(dir, 'broken.json'), '{ "room": ');
      expect(() => loadScenes(dir)).toThrow(/broken\.json: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
