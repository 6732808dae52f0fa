/**
 * Who an NPC is talking to, for the synced state (`NpcState.talkingTo`): when it starts speaking, the voice it heard
 * loudest most recently (within ADDRESSEE_WINDOW_MS), a player's voice before any NPC's, as the hearing stage
 * mixes them. It says whom the NPC answers; it is not a promise about what the engine said (a greeting with
 * nobody heard is to no one in particular: '').
 */
import { FRAME_MS } from '../../protocol/frame.ts';

/** A voice heard longer ago than this when the NPC starts speaking is not what it answers. */
export const ADDRESSEE_WINDOW_MS = 4000;
const WINDOW_TICKS = Math.round(ADDRESSEE_WINDOW_MS / FRAME_MS);

export class Addressees {
  private tick = 0;
  private readonly last = new Map<string, { id: string; tick: number }>();

  beginTick() {
    this.tick++;
  }

  /** The hearing stage: `source` (a player's session id or an NPC id) was the loudest voice in `npc`'s ears this tick. */
  heard(npc: string, source: string) {
    const l = this.last.get(npc);
    if (l) [l.id, l.tick] = [source, this.tick];
    else this.last.set(npc, { id: source, tick: this.tick });
  }

  /** Whom `npc` answers if it starts speaking now: '' when it heard nobody within the window. */
  of(npc: string): string {
    const l = this.last.get(npc);
    return l && this.tick - l.tick <= WINDOW_TICKS ? l.id : '';
  }

  /** An NPC or a player left the room. */
  forget(id: string) {
    this.last.delete(id);
    for (const [npc, l] of this.last) if (l.id === id) this.last.delete(npc);
  }
}
