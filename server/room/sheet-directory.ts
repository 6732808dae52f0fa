import type { SheetLibrary } from '../sheets/library.ts';
import type { NpcDirectory, NpcDefinition } from './npc-directory.ts';

/** NPC definitions from character sheets; an invalid sheet throws its formatted issues (the room logs them). */
export function sheetDirectory(library: SheetLibrary): NpcDirectory {
  return {
    resolve(id: string): NpcDefinition {
      const sheet = library.get(id);
      return {
        name: sheet.name,
        role: sheet.role,
        persona: sheet.persona,
        hearingRadius: sheet.hearing.hearingRadius,
        audibleRadius: sheet.hearing.audibleRadius,
        hearsNpcs: sheet.conversation.hearsNpcs,
        npcTurns: sheet.conversation.npcTurns,
      };
    },
  };
}
