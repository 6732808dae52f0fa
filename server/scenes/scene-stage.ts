/**
 * A room's scene: everything between NPCs and between an NPC and the group around it, kept out of the room's
 * routing. Around the hearing stage each tick it runs
 *   NPCs hearing NPCs (npc-hearing.ts), the floor (floor.ts: one addressee per player turn), whom each NPC
 *   talks to (addressee.ts, the synced `talkingTo`), and what each player heard of each NPC (heard-record.ts,
 *   `onHeard` and the client's `Heard` message).
 * The room calls it at the same points as the hearing stage and voice out: a tick's start, after the hearing
 * mix, each NPC output frame, a player's Played report, a player leaving.
 */
import type { NpcEvent } from '../../protocol/messages.ts';
import type { Logger } from '../log.ts';
import type { NpcStream } from '../sessions/npc-stream.ts';
import type { HearingStage } from '../voice/hearing-stage.ts';
import { Addressees } from './addressee.ts';
import { SceneFloor } from './floor.ts';
import { HeardRecord, type Heard } from './heard-record.ts';
import { NpcHearing } from './npc-hearing.ts';

export type HeardHandler = (npc: string, player: string, words: string[], info: Heard) => void;

export interface SceneStageOptions {
  /** the engine's textLeadFrames (a word is heard at its piece's frame + this) */
  leadFrames: number;
  /** one finished heard record, after the game's handlers: the server-wide hook and the player's client */
  tell: (heard: Heard) => void;
  log: Logger;
}

export class SceneStage {
  readonly npcHearing = new NpcHearing();
  readonly floor = new SceneFloor();
  private readonly addressees = new Addressees();
  private readonly heard: HeardRecord;
  private readonly handlers = new Set<HeardHandler>();

  constructor(private readonly opts: SceneStageOptions) {
    this.heard = new HeardRecord((h) => this.told(h), { leadFrames: opts.leadFrames });
  }

  /** Give the hearing stage its scene parts (NPC voices, addressees, the floor). */
  attach(hearing: HearingStage) {
    hearing.npcVoices = this.npcHearing;
    hearing.addressees = this.addressees;
    hearing.floor = this.floor;
  }

  /** A tick's start, before the hearing stage runs (`stepping`: this tick's step runs; else voices stay queued). */
  beginTick(stepping: boolean, npcs: Iterable<NpcStream>) {
    this.addressees.beginTick();
    if (!stepping) return;
    this.npcHearing.beginTick();
    this.floor.beginTick([...npcs].map((n) => ({ id: n.id, hearsNpcs: n.def.hearsNpcs, live: n.seat.kind === 'live' })));
  }

  /** After the hearing stage: the floor's decisions go with this tick's step; records age; silent NPCs talk to no one. */
  afterHearing(stepping: boolean, npcs: Iterable<NpcStream>) {
    for (const n of npcs) {
      if (stepping) n.floorElsewhere = this.floor.elsewhere(n.id);
      // a session that closed mid-speech sends no speech-ended: nobody is talked to by a silent NPC
      if (n.state.talkingTo && n.state.status !== 'speaking') n.state.talkingTo = '';
    }
    this.heard.tick();
  }

  /** Whom `npc` answers if it starts speaking now ('' for nobody). */
  addresseeOf(npc: string): string {
    return this.addressees.of(npc);
  }

  /** One NPC output frame and its speech events, sent to `listeners` (player session ids). */
  output(stream: NpcStream, frameIndex: number, output: Float32Array, text: string | undefined, events: readonly NpcEvent[], listeners: string[]) {
    this.npcHearing.spoke(stream, output, events);
    this.floor.spoke(stream.id, events);
    for (const e of events) {
      // `talkingTo`: set when the NPC starts speaking (whom it heard last), cleared when it stops
      const to = e.e === 'speech-started' ? this.addressees.of(stream.id) : e.e === 'speech-ended' ? '' : null;
      if (to !== null && stream.state.talkingTo !== to) stream.state.talkingTo = to;
    }
    this.heard.frame(stream.id, frameIndex, text, events, listeners);
  }

  /** A player's Played report: its speakers have played `npc`'s stream through frame `i`. */
  played(player: string, npc: string, i: number) {
    this.heard.played(player, npc, i);
  }

  /** A player left the room. */
  leave(player: string) {
    this.heard.leave(player);
    this.addressees.forget(player);
    this.floor.forget(player);
  }

  /** Game code's `onHeard` handlers (ParleyRoom.onHeard). Returns a remover. */
  onHeard(handler: HeardHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private told(h: Heard) {
    for (const f of this.handlers) {
      try {
        f(h.npc, h.player, h.words, h);
      } catch (err) {
        this.opts.log.warn({ err, npc: h.npc }, 'an onHeard handler threw');
      }
    }
    this.opts.tell(h);
  }
}
