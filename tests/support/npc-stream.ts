/**
 * NPC streams without a room: a stream with its own synced state, an inline sheet (a stand-in for character
 * sheets) and a silent logger, for unit tests of the sessions and voice stages.
 */
import type { Vec3 } from '../../protocol/messages.ts';
import type { Persona } from '../../server/engines/contract.ts';
import { silentLogger, type Logger } from '../../server/log.ts';
import type { NpcDefinition } from '../../server/room/npc-directory.ts';
import { NpcState } from '../../server/room/state.ts';
import { NpcStream, type VisemeTimelineLike } from '../../server/sessions/npc-stream.ts';

export interface TestStreamOptions {
  position?: Vec3;
  facing?: Vec3;
  hearingRadius?: number;
  audibleRadius?: number;
  persona?: Persona;
  visemes?: VisemeTimelineLike;
  log?: Logger;
}

export function testStream(id: string, o: TestStreamOptions = {}): NpcStream {
  const def: NpcDefinition = {
    name: id,
    role: 'crew',
    hearingRadius: o.hearingRadius ?? 6,
    audibleRadius: o.audibleRadius ?? 12,
    persona: o.persona ?? { id, name: id, textPrompt: `You are ${id}.`, voice: { kind: 'builtin', id: 'NATF0' } },
  };
  const state = new NpcState();
  state.id = id;
  return new NpcStream(id, `test/${id}`, id, def, state, o.position ?? [0, 0, 0], o.facing ?? [0, 0, 1], { resolve: () => def }, o.visemes ?? null, o.log ?? silentLogger);
}

/** Every status the stream published, in order (the synced state's status after each change). */
export function recordStatuses(stream: NpcStream): string[] {
  const seen: string[] = [stream.state.status];
  stream.onPublished = () => {
    if (seen.at(-1) !== stream.state.status) seen.push(stream.state.status);
  };
  return seen;
}
