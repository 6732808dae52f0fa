/**
 * Read-only views of the room state the server synchronises (server/room/state.ts): what a client may read.
 * The plugin and the sample game read the state through these types; the server's schema must satisfy them
 * (tests/protocol/room-view.test.ts checks it at the type level and at run time).
 *
 * NPC status, progress and detail travel only here: the server sends no status events.
 */
import { NPC_STATUSES, type NpcStatus } from './messages.ts';

/** Position (world units) and facing direction. */
export interface PoseView {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly fx: number;
  readonly fy: number;
  readonly fz: number;
}

export interface PlayerView extends PoseView {
  readonly id: string;
  /** id of the NPC that hears this player best right now, '' when none */
  readonly heardBy: string;
}

export interface NpcView extends PoseView {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  /** one of NPC_STATUSES; read it with `npcStatusOf` */
  readonly status: string;
  /** 0..1 while warming */
  readonly progress: number;
  /** the last error or busy reason, '' when none */
  readonly detail: string;
  readonly hearingRadius: number;
  readonly audibleRadius: number;
  /**
   * While it speaks: whom it is answering, another NPC's id or a player's session id (compare with your room's
   * sessionId); '' when it is silent or heard nobody before it began. Absent from older servers.
   */
  readonly talkingTo?: string;
}

/** The read side of a Colyseus MapSchema. */
export interface MapView<T> {
  get(key: string): T | undefined;
  forEach(cb: (value: T, key: string) => void): void;
}

export interface RoomStateView {
  readonly players: MapView<PlayerView>;
  readonly npcs: MapView<NpcView>;
  /** the engine's honest label */
  readonly engine: string;
}

/**
 * The state of a joined room. Before the first patch arrives its maps are missing, so each part may be absent.
 */
export type PartialRoomStateView = Partial<RoomStateView>;

/** An NPC's status as the typed union; anything unknown (a newer server) reads as 'idle'. */
export function npcStatusOf(npc: Pick<NpcView, 'status'> | undefined): NpcStatus {
  const s = npc?.status as NpcStatus | undefined;
  return s !== undefined && NPC_STATUSES.includes(s) ? s : 'idle';
}
