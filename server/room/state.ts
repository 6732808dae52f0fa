/**
 * Room state synchronised by Colyseus: players (pose) and NPCs (pose, status). Voice never goes through state;
 * it travels as Parley byte messages to the players in earshot only. Least exposure: each client's StateView
 * holds its own player (with `heardBy`, tagged SELF) and the other players within a visibility radius (pose
 * only); see server/room/visibility.ts.
 */
import { schema, t, type SchemaType } from '@colyseus/schema';

/** Position (world units) and facing (unit vector): a fresh set of field builders for each schema. */
const pose = () => ({
  x: t.float32(),
  y: t.float32(),
  z: t.float32(),
  fx: t.float32(),
  fy: t.float32(),
  fz: t.float32(),
});

/** View tag of the fields only a player's own client sees. */
export const SELF = 1;

export const PlayerState = schema(
  {
    id: t.string(),
    ...pose(),
    /** id of the NPC that hears this player best right now, '' when none; only the player itself sees it */
    heardBy: t.string().view(SELF),
  },
  'PlayerState',
);
export type PlayerState = SchemaType<typeof PlayerState>;

export const NpcState = schema(
  {
    id: t.string(),
    name: t.string(),
    role: t.string(),
    ...pose(),
    /** idle | warming | listening | speaking | busy | error */
    status: t.string(),
    /** 0..1 while warming */
    progress: t.float32(),
    /** last error or busy reason, '' when none */
    detail: t.string(),
    hearingRadius: t.float32(),
    audibleRadius: t.float32(),
    /** while speaking: whom it answers, an NPC's id or a player's session id ('' when silent or nobody was heard) */
    talkingTo: t.string(),
  },
  'NpcState',
);
export type NpcState = SchemaType<typeof NpcState>;

export const ParleyState = schema(
  {
    /** per client: itself and the players within its visibility radius (StateView) */
    players: t.map(PlayerState).view(),
    npcs: t.map(NpcState),
    /** the engine's honest label, e.g. that the CPU default does not understand speech */
    engine: t.string(),
  },
  'ParleyState',
);
export type ParleyState = SchemaType<typeof ParleyState>;
