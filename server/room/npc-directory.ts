import type { Vec3 } from '../../protocol/messages.ts';
import type { Persona } from '../engines/contract.ts';

/** Where the room places an NPC: a character sheet and a pose (scene data, `scenes/*.json`; never players' join options). */
export interface NpcPlacement {
  /** character sheet id */
  sheet: string;
  /** NPC id in the room; defaults to the sheet id */
  id?: string;
  position: Vec3;
  facing?: Vec3;
  /**
   * Metres above `position` where the NPC hears: scenes place NPCs where they stand (their feet), while players
   * report their eye (camera) position, so hearing distance runs from ear to mouth. Default 0 (position is the ear).
   */
  earHeight?: number;
}

/** What the room needs of an NPC's character sheet. */
export interface NpcDefinition {
  name: string;
  role: string;
  persona: Persona;
  hearingRadius: number;
  audibleRadius: number;
  /** which NPCs' voices it hears (true: all; absent or false: none) and its turns in an NPC exchange (docs/scenes.md) */
  hearsNpcs?: boolean | string[];
  npcTurns?: number;
}

/**
 * Resolves a sheet id to its definition, fresh each call (so an edited sheet applies to the next session).
 * Throws an Error whose message says what is wrong when the sheet is unknown or invalid.
 */
export interface NpcDirectory {
  resolve(sheetId: string): NpcDefinition;
}
