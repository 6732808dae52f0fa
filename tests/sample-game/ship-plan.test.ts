/**
 * The ship plan against the shared layout: every NPC stands in a room, clear of walls and furniture, and the
 * player can walk from the start to each of them through the doorways (a grid walk over the plan).
 */
import { describe, expect, it } from 'vitest';
import { MARS_MISSION_NPCS, PLAYER_START } from '../../sample-game/layout.ts';
import { OBSTACLES, REACTOR_CORE, ROOMS, WALLS, WALL_THICKNESS, roomAt, wallPieces } from '../../sample-game/scene/ship-plan.ts';

const CELL = 0.2;
const BODY = 0.35; // the player's collision radius

/** Whether a player standing at (x, z) fits: inside a room, off walls, furniture and the core. */
function free(x: number, z: number): boolean {
  // a doorway sits on a room boundary; test the body's extent against walls directly
  const inShip = [[0, 0], [BODY, 0], [-BODY, 0], [0, BODY], [0, -BODY]].every(([dx, dz]) => roomAt(x + dx, z + dz) || onDoorway(x + dx, z + dz));
  if (!inShip) return false;
  for (const w of WALLS) {
    for (const p of wallPieces(w)) {
      if (p.bottom > 1.8) continue; // a lintel above head height
      const along = w.axis === 'x' ? x : z;
      const across = w.axis === 'x' ? z : x;
      if (along > p.from - BODY && along < p.to + BODY && Math.abs(across - w.at) < WALL_THICKNESS / 2 + BODY) return false;
    }
  }
  for (const o of OBSTACLES) if (x > o.x0 - BODY && x < o.x1 + BODY && z > o.z0 - BODY && z < o.z1 + BODY) return false;
  return Math.hypot(x - REACTOR_CORE.x, z - REACTOR_CORE.z) > REACTOR_CORE.radius + BODY;
}

function onDoorway(x: number, z: number): boolean {
  return WALLS.some((w) =>
    w.openings.some((o) => {
      const along = w.axis === 'x' ? x : z;
      const across = w.axis === 'x' ? z : x;
      return along > o.from && along < o.to && Math.abs(across - w.at) <= WALL_THICKNESS;
    }),
  );
}

/** Breadth-first walk over free cells from the start; returns the reached cells as "i,k" keys. */
function walkable(): Set<string> {
  const key = (i: number, k: number) => `${i},${k}`;
  const start: [number, number] = [Math.round(PLAYER_START[0] / CELL), Math.round(PLAYER_START[2] / CELL)];
  const seen = new Set([key(...start)]);
  const queue = [start];
  while (queue.length) {
    const [i, k] = queue.shift()!;
    for (const [di, dk] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const n: [number, number] = [i + di, k + dk];
      if (seen.has(key(...n)) || !free(n[0] * CELL, n[1] * CELL)) continue;
      seen.add(key(...n));
      queue.push(n);
    }
  }
  return seen;
}

describe('ship plan', () => {
  it('puts the player start in the corridor, on free floor', () => {
    expect(roomAt(PLAYER_START[0], PLAYER_START[2])?.id).toBe('corridor');
    expect(free(PLAYER_START[0], PLAYER_START[2])).toBe(true);
  });

  it('places every NPC inside a room with a ceiling above its head', () => {
    const rooms = MARS_MISSION_NPCS.map((n) => roomAt(n.position[0], n.position[2])?.id);
    expect(rooms).toEqual(['reactor', 'medbay', 'medbay']); // Okafor and Vance share the med bay (they talk to each other)
    for (const n of MARS_MISSION_NPCS) expect(roomAt(n.position[0], n.position[2])!.height).toBeGreaterThan(2.2);
  });

  it('lets the player walk from the start to within 2 m of every NPC, facing the way they face', () => {
    const reached = walkable();
    expect(reached.size).toBeGreaterThan(1000);
    for (const n of MARS_MISSION_NPCS) {
      // a spot 1.5–2 m in front of the NPC, where a player talking to it would stand
      const spot = [n.position[0] + (n.facing[0] ?? 0) * 1.8, n.position[2] + (n.facing[2] ?? 0) * 1.8];
      const cell = `${Math.round(spot[0] / CELL)},${Math.round(spot[1] / CELL)}`;
      expect(reached.has(cell), `${n.sheet}: spot in front of them reachable`).toBe(true);
    }
  });

  it('keeps walls closed where there is no doorway: the bridge cannot be left through its side walls', () => {
    const reached = walkable();
    for (const key of reached) {
      const [i, k] = key.split(',').map(Number);
      expect(roomAt(i * CELL, k * CELL) ?? onDoorway(i * CELL, k * CELL)).toBeTruthy();
    }
  });

  it('cuts doorways and windows out of walls, leaving lintels above doors lower than the wall', () => {
    const bridgeAft = WALLS.find((w) => w.axis === 'x' && w.at === -3)!;
    const pieces = wallPieces(bridgeAft);
    expect(pieces).toContainEqual({ from: ROOMS.corridor.x0, to: ROOMS.corridor.x1, bottom: ROOMS.corridor.height, top: 3.4 });
    expect(pieces.filter((p) => p.bottom === 0).map((p) => [p.from, p.to])).toEqual([[-6, -1.6], [1.6, 6]]);
    const window = wallPieces(WALLS[0]);
    // nothing solid inside the window
    expect(window.some((p) => p.from < 4.5 && p.to > -4.5 && p.bottom < 2.9 && p.top > 0.9)).toBe(false);
  });
});
