/**
 * Who hears whom. An NPC hears the players within its hearing radius, louder when near and when the player
 * faces it: in a group, the NPC you face hears you best. Weights are computed each tick from the poses.
 */
import type { Vec3 } from '../../protocol/messages.ts';

export interface Listener {
  position: Vec3;
  facing: Vec3;
  hearingRadius: number;
}

export interface Speaker {
  position: Vec3;
  /** unit or zero vector */
  facing: Vec3;
}

/** Distance at and below which a voice is heard at full level. */
export const REFERENCE_DISTANCE = 1;

export function distance(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

export function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return n > 1e-9 ? [v[0] / n, v[1] / n, v[2] / n] : [0, 0, 0];
}

/**
 * Gain of a player's voice in an NPC's input: inverse distance (full level within 1 m), faded to zero over the
 * last fifth of the hearing radius so voices never pop in or out, times a facing factor from 0.3 (back turned)
 * to 1 (facing the NPC). 0 outside the radius.
 */
export function hearingWeight(npc: Listener, player: Speaker): number {
  const d = distance(npc.position, player.position);
  if (d >= npc.hearingRadius) return 0;
  const dist = REFERENCE_DISTANCE / Math.max(d, REFERENCE_DISTANCE);
  const edge = npc.hearingRadius * 0.8;
  const fade = d <= edge ? 1 : 1 - smoothstep((d - edge) / (npc.hearingRadius - edge));
  const toNpc = normalise([npc.position[0] - player.position[0], npc.position[1] - player.position[1], npc.position[2] - player.position[2]]);
  const f = player.facing;
  const hasFacing = f[0] !== 0 || f[1] !== 0 || f[2] !== 0;
  const cos = hasFacing && d > 1e-6 ? toNpc[0] * f[0] + toNpc[1] * f[1] + toNpc[2] * f[2] : 1;
  const facing = 0.3 + 0.7 * ((1 + cos) / 2);
  return dist * fade * facing;
}

function smoothstep(t: number): number {
  const x = Math.min(1, Math.max(0, t));
  return x * x * (3 - 2 * x);
}
