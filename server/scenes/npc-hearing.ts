/**
 * NPCs hear NPCs. Each tick the hearing stage asks this module which other NPCs' voices reach an NPC's ears and
 * at what weight: the same distance and facing weights as a player's voice (voice/hearing.ts), from the NPC's
 * mouth (its ear height), using the frame that NPC spoke on the previous tick (each spoken frame is heard once, in order, one
 * per tick; a step that finished late delivers its frame a tick later rather than losing it).
 * Who hears whom is the sheet's `conversation.hears_npcs` (true, false or a list of ids; default false).
 *
 * Three rules keep a scene a conversation and not a tangle:
 *   players first   while a player's voice reaches an NPC it hears no NPC voices, and for PLAYER_HOLD_MS (8 s)
 *                   after only those that keep it from talking over another NPC (the first-speaker rule): a player
 *                   always outranks NPCs, an exchange gives way to a player who speaks, and only one NPC answers.
 *   first speaker   an NPC that is speaking does not hear NPCs who began speaking after it (the same tick: the one
 *                   placed later), so two NPCs who start together do not both back off; the later one hears the
 *                   earlier and yields as it would to anyone.
 *   turn budget     each time an NPC starts speaking with no player heard since its last turn budget reset, it
 *                   spends one of its `npc_turns` (default 4; a backchannel counts too); with none left it hears
 *                   only what makes it give way (as in the hold) until a player's voice reaches it again. Two NPCs
 *                   left alone stop after at most the sum of their budgets.
 */
import type { NpcEvent, Vec3 } from '../../protocol/messages.ts';
import { FRAME_MS } from '../../protocol/frame.ts';
import type { NpcStream } from '../sessions/npc-stream.ts';
import { hearingWeight } from '../voice/hearing.ts';

/**
 * After a player's voice reaches an NPC, NPC voices stay out of its ears this long: the player holds the floor
 * through their pauses and the NPC's answer, and its neighbours do not pick the exchange back up over them.
 */
export const PLAYER_HOLD_MS = 8000;
const PLAYER_HOLD_TICKS = Math.round(PLAYER_HOLD_MS / FRAME_MS);
export const DEFAULT_NPC_TURNS = 4;
/** frames an NPC's voice may wait to be heard (delivery jitter of a late step) */
const MAX_QUEUED = 3;

interface Voice {
  /** frames spoken and not yet heard (a step that finished late can deliver two between ticks), oldest first */
  queue: Float32Array[];
  /** the frame others hear this tick (one per tick, each once), null when none */
  frame: Float32Array | null;
  /** tick its current speech began (null while silent), and its last speech began */
  since: number | null;
  lastSince: number;
  rank: number;
  /** turns taken since a player's voice last reached it */
  turns: number;
  /** last tick a player's voice reached it */
  playerAt: number;
}

export interface NpcHearingStats {
  /** NPC voice frames mixed into another NPC's ears */
  framesMixed: number;
  /** turns taken while no player was heard */
  npcTurns: number;
  /** times an NPC's turn budget ran out (it stopped hearing NPCs) */
  budgetStops: number;
}

export class NpcHearing {
  private tick = 0;
  private readonly voices = new Map<string, Voice>();
  private nextRank = 0;
  readonly stats: NpcHearingStats = { framesMixed: 0, npcTurns: 0, budgetStops: 0 };
  private readonly out: { frames: Float32Array[]; weights: number[]; ids: string[] } = { frames: [], weights: [], ids: [] };

  /** A new tick: each NPC's oldest frame not yet heard becomes what the others hear now. */
  beginTick() {
    this.tick++;
    for (const v of this.voices.values()) v.frame = v.queue.shift() ?? null;
  }

  /** Voice out: one output frame of an NPC (copied: the engine may reuse it) and the speech events it made. */
  spoke(npc: NpcStream, output: Float32Array, events: readonly NpcEvent[]) {
    const v = this.voice(npc.id);
    v.queue.push(output.slice());
    if (v.queue.length > MAX_QUEUED) v.queue.shift(); // far behind: hear the latest, not a growing delay
    for (const e of events) {
      if (e.e === 'speech-started') {
        v.since = v.lastSince = this.tick;
        if (this.tick - v.playerAt > PLAYER_HOLD_TICKS) {
          v.turns++;
          this.stats.npcTurns++;
          if (v.turns === (npc.def.npcTurns ?? DEFAULT_NPC_TURNS)) this.stats.budgetStops++;
        }
      } else if (e.e === 'speech-ended' || e.e === 'interrupted') v.since = null;
    }
  }

  /** The hearing stage: a player's voice reached this NPC this tick. */
  playerHeard(npc: NpcStream) {
    const v = this.voice(npc.id);
    v.playerAt = this.tick;
    v.turns = 0;
  }

  /** Whether `listener` hears NPC voices freely this tick (its sheet; no player heard within the hold; budget left). */
  listening(listener: NpcStream): boolean {
    if (!this.hearsAny(listener)) return false;
    const v = this.voice(listener.id);
    return this.tick - v.playerAt > PLAYER_HOLD_TICKS && v.turns < (listener.def.npcTurns ?? DEFAULT_NPC_TURNS);
  }

  private hearsAny(listener: NpcStream): boolean {
    const hears = listener.def.hearsNpcs;
    return hears === true || (Array.isArray(hears) && hears.length > 0);
  }

  /**
   * The NPC voices `listener` hears this tick, with their weights and ids (arrays reused between calls), or null. Its
   * own voice is never among them.
   */
  sourcesFor(listener: NpcStream, streams: Iterable<NpcStream>): { frames: Float32Array[]; weights: number[]; ids: string[] } | null {
    if (!this.hearsAny(listener)) return null;
    const hears = listener.def.hearsNpcs;
    const me = this.voice(listener.id);
    if (me.playerAt === this.tick) return null;
    // within the player hold, or with its budget spent, it hears only NPCs that had the floor before its own last
    // speech began (one it is talking over, or gave way to, until they stop), so it gives way but starts nothing new
    const held = !this.listening(listener);
    const mine = me.since ?? me.lastSince;
    const ear: Vec3 = [listener.position[0], listener.position[1] + listener.earHeight, listener.position[2]];
    const out = this.out;
    out.frames.length = out.weights.length = out.ids.length = 0;
    for (const s of streams) {
      if (s === listener || (Array.isArray(hears) && !hears.includes(s.id))) continue;
      const v = this.voices.get(s.id);
      if (!v?.frame) continue;
      // first speaker keeps the floor: a speaking NPC does not hear one who began after it
      if (me.since !== null && v.since !== null && (v.since > me.since || (v.since === me.since && v.rank > me.rank))) continue;
      if (held && (v.since === null || v.since > mine || (v.since === mine && v.rank > me.rank))) continue;
      const mouth: Vec3 = [s.position[0], s.position[1] + s.earHeight, s.position[2]];
      const w = hearingWeight({ position: ear, facing: listener.facing, hearingRadius: listener.def.hearingRadius }, { position: mouth, facing: s.facing });
      if (w <= 0) continue;
      out.frames.push(v.frame);
      out.weights.push(w);
      out.ids.push(s.id);
    }
    this.stats.framesMixed += out.frames.length;
    return out.frames.length ? out : null;
  }

  /** An NPC was removed from the room. */
  forget(id: string) {
    this.voices.delete(id);
  }

  private voice(id: string): Voice {
    let v = this.voices.get(id);
    if (!v) this.voices.set(id, (v = { queue: [], frame: null, since: null, lastSince: -Infinity, rank: this.nextRank++, turns: 0, playerAt: -Infinity }));
    return v;
  }
}
