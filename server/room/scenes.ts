/**
 * Scene data: where a room's NPCs stand (and where players start), one JSON file per room in a scenes folder
 * that the server and the game both read. Validated at load; a bad file is an error naming the file and field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Vec3 } from '../../protocol/messages.ts';
import type { NpcPlacement } from './npc-directory.ts';

export interface Scene {
  /** the room name players join */
  room: string;
  playerStart: Vec3;
  npcs: NpcPlacement[];
}

export class SceneError extends Error {
  override name = 'SceneError';
}

/** Check a parsed scene file; `source` names it in errors. */
export function parseScene(data: unknown, source: string): Scene {
  const fail = (what: string): never => {
    throw new SceneError(`${source}: ${what}`);
  };
  const obj = (x: unknown, at: string) => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : fail(`${at} must be an object`));
  const str = (x: unknown, at: string) => (typeof x === 'string' && x.trim() !== '' ? x : fail(`${at} must be a non-empty string`));
  const vec = (x: unknown, at: string): Vec3 =>
    Array.isArray(x) && x.length === 3 && x.every((v) => typeof v === 'number' && Number.isFinite(v)) ? [x[0], x[1], x[2]] : fail(`${at} must be [x, y, z] (three finite numbers)`);
  const height = (x: unknown, at: string): number =>
    typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 5 ? x : fail(`${at} must be a height in metres from 0 to 5`);
  const top = obj(data, 'the scene');
  const room = str(top.room, 'room');
  const playerStart = top.playerStart === undefined ? ([0, 0, 0] as Vec3) : vec(top.playerStart, 'playerStart');
  if (!Array.isArray(top.npcs)) fail('npcs must be a list');
  const ids = new Set<string>();
  const npcs = (top.npcs as unknown[]).map((x, i): NpcPlacement => {
    const n = obj(x, `npcs[${i}]`);
    const sheet = str(n.sheet, `npcs[${i}].sheet`);
    const id = n.id === undefined ? sheet : str(n.id, `npcs[${i}].id`);
    if (ids.has(id)) fail(`npcs[${i}]: NPC id '${id}' appears twice`);
    ids.add(id);
    if (n.note !== undefined && typeof n.note !== 'string') fail(`npcs[${i}].note must be a string`);
    return {
      sheet,
      ...(n.id !== undefined ? { id } : {}),
      position: vec(n.position, `npcs[${i}].position`),
      ...(n.facing !== undefined ? { facing: vec(n.facing, `npcs[${i}].facing`) } : {}),
      ...(n.earHeight !== undefined ? { earHeight: height(n.earHeight, `npcs[${i}].earHeight`) } : {}),
    };
  });
  return { room, playerStart, npcs };
}

/** Every `*.json` scene in `dir`, by room name. */
export function loadScenes(dir: string): Record<string, Scene> {
  const out: Record<string, Scene> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const source = path.join(dir, file);
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(source, 'utf8'));
    } catch (err) {
      throw new SceneError(`${source}: not valid JSON (${(err as Error).message})`);
    }
    const scene = parseScene(data, source);
    if (out[scene.room]) throw new SceneError(`${source}: room '${scene.room}' is also defined by another scene file`);
    out[scene.room] = scene;
  }
  return out;
}
