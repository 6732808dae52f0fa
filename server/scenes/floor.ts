/**
 * The scene's floor: one addressee per player turn. When a player speaks to a group of NPCs who hear each other,
 * every one of them hears the player, and a duplex NPC answers what it hears: left alone, they all answer at once.
 * People in a group do not; the one spoken to answers and the others listen. So the scene decides.
 *
 *   turn       a player's turn opens on the first tick their voice reaches any NPC. Their voice belongs to it
 *              until the NPC it went to has finished an answer (talking over the answer, and going on after it
 *              yields, is the same turn: that NPC answers again); voice after that opens the next turn. A turn
 *              is forgotten PLAYER_HOLD_MS after the player last spoke, unless its NPC is answering then.
 *   addressee  the NPC that has heard the turn loudest so far (the sum over its ticks of the voice's weighted
 *              RMS in its ears: the one the player faces and stands nearest, as the HUD's "hears you best"),
 *              among NPCs with a live session; fixed once it starts answering.
 *   elsewhere  an NPC that heard the turn, hears NPC voices (`conversation.hears_npcs` names the addressee or is
 *              true) and is not the addressee has the floor elsewhere: engines that can be told (the rehearsal
 *              engine) do not take that turn, and for model engines, which cannot, the hearing stage lowers the
 *              player in its ears while it is silent. NPCs that do not hear NPCs keep their own conversations.
 *
 * It only decides; who hears what stays in the hearing stage and npc-hearing.ts.
 */
import type { NpcEvent } from '../../protocol/messages.ts';
import { FRAME_MS } from '../../protocol/frame.ts';
import { PLAYER_HOLD_MS } from './npc-hearing.ts';

const HOLD_TICKS = Math.round(PLAYER_HOLD_MS / FRAME_MS);

/** What the floor needs to know of an NPC. */
export interface FloorNpc {
  id: string;
  /** the sheet's `conversation.hears_npcs` */
  hearsNpcs?: boolean | readonly string[];
  /** it has a live session (it can answer now) */
  live: boolean;
}

interface Turn {
  /** summed weighted RMS of the player's voice in each NPC's ears this turn */
  heard: Map<string, number>;
  lastVoice: number;
  /** set when the addressee starts speaking: fixed from then on */
  answeredBy: string | null;
  /** the addressee is speaking now */
  answering: boolean;
  /** the addressee finished an answer: the player's next voice opens a new turn */
  done: boolean;
}

export interface FloorStats {
  /** player turns opened */
  turns: number;
}

export class SceneFloor {
  private tick = 0;
  private readonly turns = new Map<string, Turn>();
  private readonly npcs = new Map<string, FloorNpc>();
  readonly stats: FloorStats = { turns: 0 };

  /** A new tick: turns whose time ran out close. */
  beginTick(npcs: Iterable<FloorNpc>) {
    this.tick++;
    this.npcs.clear();
    for (const n of npcs) this.npcs.set(n.id, n);
    for (const [player, t] of this.turns) {
      if (!t.answering && this.tick - t.lastVoice > HOLD_TICKS) this.turns.delete(player);
    }
  }

  /** The hearing stage: `player`'s voice reached `npc` this tick at `level` (weighted RMS in its ears). */
  heard(npc: string, player: string, level: number) {
    let t = this.turns.get(player);
    if (!t || t.done) {
      this.turns.set(player, (t = { heard: new Map(), lastVoice: this.tick, answeredBy: null, answering: false, done: false }));
      this.stats.turns++;
    }
    t.lastVoice = this.tick;
    t.heard.set(npc, (t.heard.get(npc) ?? 0) + level);
  }

  /** The player's current turn goes to this NPC ('' when no turn is open or no NPC heard it with a live session). */
  addresseeOf(player: string): string {
    const t = this.turns.get(player);
    if (!t) return '';
    if (t.answeredBy !== null) return t.answeredBy;
    let best = '';
    let most = 0;
    for (const [npc, sum] of t.heard) {
      if (sum > most && this.npcs.get(npc)?.live) [best, most] = [npc, sum];
    }
    return best;
  }

  /**
   * Whether `npc` must leave a player's open turn to another NPC it hears: it heard the turn, it is not the
   * addressee, and its sheet has it hear the addressee.
   */
  elsewhere(npc: string): boolean {
    const me = this.npcs.get(npc);
    if (!me?.hearsNpcs) return false;
    for (const [player, t] of this.turns) {
      if (!t.heard.has(npc)) continue;
      const to = this.addresseeOf(player);
      if (to === '' || to === npc) continue;
      if (me.hearsNpcs === true || me.hearsNpcs.includes(to)) return true;
    }
    return false;
  }

  /**
   * Voice out: an NPC's speech events. The addressee starting fixes the turn; finishing its answer ends the turn
   * (the others still leave it until the player speaks again); being talked over does not.
   */
  spoke(npc: string, events: readonly NpcEvent[]) {
    for (const e of events) {
      for (const [player, t] of this.turns) {
        if (t.done) continue;
        if (e.e === 'speech-started' && (t.answeredBy ?? this.addresseeOf(player)) === npc) {
          t.answeredBy = npc;
          t.answering = true;
        } else if (t.answeredBy === npc && (e.e === 'speech-ended' || e.e === 'interrupted')) {
          t.answering = false;
          t.done = e.e === 'speech-ended';
        }
      }
    }
  }

  /** A player or an NPC left. */
  forget(id: string) {
    this.turns.delete(id);
    for (const [player, t] of this.turns) {
      t.heard.delete(id);
      if (t.answeredBy === id) this.turns.delete(player);
    }
  }
}
