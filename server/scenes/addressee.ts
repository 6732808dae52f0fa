/**
 * Who an NPC is talking to, for the synced state (`NpcState.talkingTo`): when it starts speaking, the player it
 * heard loudest most recently within ADDRESSEE_WINDOW_MS, else the NPC it heard loudest most recently within it,
 * else nobody (''). Players first, as in the mix (server/scenes/npc-hearing.ts): an NPC that answers a player while
 * a neighbour finishes a phrase over them is answering the player. It names whom the NPC answers, not what the
 * engine meant (a greeting with nobody heard is to no one in particular).
 */
import { FRAME_MS } from '../../protocol/frame.ts';

/** A voice heard longer ago than this when the NPC starts speaking is not what it answers. */
export const ADDRESSEE_WINDOW_MS = 4000;
const WINDOW_TICKS = Math.round(ADDRESSEE_WINDOW_MS / FRAME_MS);

interface Last {
  id: string;
  tick: number;
}

export class Addressees {
  private tick = 0;
  private readonly players = new Map<string, Last>();
  private readonly npcs = new Map<string, Last>();

  beginTick() {
    this.tick++;
  }

  /** The hearing stage: `source` was the loudest player (a session id) or else NPC in `npc`'s ears this tick. */
  heard(npc: string, source: string, kind: 'player' | 'npc') {
    const map = kind === 'player' ? this.players : this.npcs;
    const l = map.get(npc);
    if (l) [l.id, l.tick] = [source, this.tick];
    else map.set(npc, { id: source, tick: this.tick });
  }

  /** Whom `npc` answers if it starts speaking now: '' when it heard nobody within the window. */
  of(npc: string): string {
    for (const map of [this.players, this.npcs]) {
      const l = map.get(npc);
      if (l && this.tick - l.tick <= WINDOW_TICKS) return l.id;
    }
    return '';
  }

  /** An NPC or a player left the room. */
  forget(id: string) {
    for (const map of [this.players, this.npcs]) {
      map.delete(id);
      for (const [npc, l] of map) if (l.id === id) map.delete(npc);
    }
  }
}
