/**
 * The ship's floor plan as data: rooms, walls and the doorways through them. The scene builds its geometry from
 * this, and the tests walk it (every NPC can be reached from the player's start). Metres; y is up; the ship runs
 * along +z from the bridge (forward) to the reactor (aft); the med bay is to port (−x) off the corridor.
 */

export type RoomId = 'bridge' | 'corridor' | 'medbay' | 'reactor';

export interface Room {
  id: RoomId;
  x0: number;
  x1: number;
  z0: number;
  z1: number;
  /** ceiling height */
  height: number;
}

export interface Opening {
  from: number;
  to: number;
  /** top of the doorway; the wall continues above it as a lintel */
  top: number;
}

/** A straight wall: along x at z = `at` (axis 'x'), or along z at x = `at` (axis 'z'). */
export interface Wall {
  axis: 'x' | 'z';
  at: number;
  from: number;
  to: number;
  height: number;
  openings: Opening[];
  /** a window instead of a solid wall between these heights (the bridge's view of Mars) */
  window?: { from: number; to: number; bottom: number; top: number };
}

export const WALL_THICKNESS = 0.2;

export const ROOMS: Record<RoomId, Room> = {
  bridge: { id: 'bridge', x0: -6, x1: 6, z0: -13, z1: -3, height: 3.4 },
  corridor: { id: 'corridor', x0: -1.6, x1: 1.6, z0: -3, z1: 20, height: 2.8 },
  medbay: { id: 'medbay', x0: -11, x1: -1.6, z0: 8, z1: 16, height: 2.8 },
  reactor: { id: 'reactor', x0: -7, x1: 7, z0: 20, z1: 34, height: 6 },
};

const c = ROOMS.corridor;
export const WALLS: Wall[] = [
  // bridge: the forward wall is mostly window
  { axis: 'x', at: -13, from: -6, to: 6, height: 3.4, openings: [], window: { from: -4.5, to: 4.5, bottom: 0.9, top: 2.9 } },
  { axis: 'z', at: -6, from: -13, to: -3, height: 3.4, openings: [] },
  { axis: 'z', at: 6, from: -13, to: -3, height: 3.4, openings: [] },
  { axis: 'x', at: -3, from: -6, to: 6, height: 3.4, openings: [{ from: c.x0, to: c.x1, top: c.height }] },
  // corridor: the med bay door to port; crew quarters doors are closed panels (decoration)
  { axis: 'z', at: c.x0, from: c.z0, to: c.z1, height: c.height, openings: [{ from: 10.6, to: 13.4, top: 2.4 }] },
  { axis: 'z', at: c.x1, from: c.z0, to: c.z1, height: c.height, openings: [] },
  // med bay (its east wall is the corridor's port wall)
  { axis: 'x', at: 8, from: -11, to: c.x0, height: 2.8, openings: [] },
  { axis: 'x', at: 16, from: -11, to: c.x0, height: 2.8, openings: [] },
  { axis: 'z', at: -11, from: 8, to: 16, height: 2.8, openings: [] },
  // reactor room
  { axis: 'x', at: 20, from: -7, to: 7, height: 6, openings: [{ from: c.x0, to: c.x1, top: c.height }] },
  { axis: 'x', at: 34, from: -7, to: 7, height: 6, openings: [] },
  { axis: 'z', at: -7, from: 20, to: 34, height: 6, openings: [] },
  { axis: 'z', at: 7, from: 20, to: 34, height: 6, openings: [] },
];

/** The reactor core: a column in the middle of the reactor room, behind Alex. */
export const REACTOR_CORE = { x: 0, z: 29.5, radius: 1.1, height: 5.2 };

/** Solid furniture the player bumps into (x0, x1, z0, z1), besides the core. */
export const OBSTACLES: { name: string; x0: number; x1: number; z0: number; z1: number; height: number }[] = [
  { name: 'bridge-console', x0: -3, x1: 3, z0: -11.6, z1: -10.8, height: 1.0 },
  { name: 'med-bed', x0: -10, x1: -8, z0: 13.4, z1: 15.4, height: 0.7 },
  { name: 'med-cabinet', x0: -10.8, x1: -10.2, z0: 8.4, z1: 10.4, height: 2 },
];

/** The room a point is in, or null (inside a wall or outside the ship). */
export function roomAt(x: number, z: number): Room | null {
  for (const r of Object.values(ROOMS)) if (x > r.x0 && x < r.x1 && z > r.z0 && z < r.z1) return r;
  return null;
}

/** The solid pieces of a wall: segments between its openings and lintels above them. */
export function wallPieces(w: Wall): { from: number; to: number; bottom: number; top: number }[] {
  const pieces: { from: number; to: number; bottom: number; top: number }[] = [];
  const holes = [...w.openings].sort((a, b) => a.from - b.from);
  let at = w.from;
  for (const o of holes) {
    if (o.from > at) pieces.push({ from: at, to: o.from, bottom: 0, top: w.height });
    if (o.top < w.height) pieces.push({ from: o.from, to: o.to, bottom: o.top, top: w.height });
    at = o.to;
  }
  if (at < w.to) pieces.push({ from: at, to: w.to, bottom: 0, top: w.height });
  if (!w.window) return pieces;
  // cut the window out of the solid pieces it crosses
  const out: typeof pieces = [];
  const win = w.window;
  for (const p of pieces) {
    if (p.to <= win.from || p.from >= win.to || p.bottom >= win.top || p.top <= win.bottom) {
      out.push(p);
      continue;
    }
    if (p.from < win.from) out.push({ ...p, to: win.from });
    if (p.to > win.to) out.push({ ...p, from: win.to });
    const f = Math.max(p.from, win.from), t = Math.min(p.to, win.to);
    if (p.bottom < win.bottom) out.push({ from: f, to: t, bottom: p.bottom, top: win.bottom });
    if (p.top > win.top) out.push({ from: f, to: t, bottom: win.top, top: p.top });
  }
  return out;
}
