/**
 * What each listener heard. For every NPC utterance (speech-started → speech-ended, or cut by 'interrupted') and
 * every player it was sent to, the words that player's playback actually reached, cut at the interruption, and
 * one "finished speaking for this listener" record when its playback passes the utterance's last frame.
 *
 * Where a player is: its plugin reports, per NPC, the last frame index its speakers have played through (Played
 * messages, from the samples-played clock). Reports may be lost, late, repeated or out of order: only the highest
 * counts. A player that never reported for this NPC is unclocked and gets the words as sent ('sent'); one whose
 * reports stop short (it left, or nothing reached the end within graceMs) gets what it reached ('partial').
 * Words of frames concealed by voice-packet loss count as heard once playback has passed them: their text and
 * captions still arrived. Time comes from outside (`now`), so this is tested on a fake clock.
 */
import type { NpcEvent } from '../../protocol/messages.ts';
import { WordAssembler, type AssembledWord } from '../../protocol/pieces.ts';

export interface Heard {
  npc: string;
  player: string;
  /** the words this player heard, in order, as written ("reactor,") */
  words: string[];
  /** the NPC was cut off (its words after the cut were never said) */
  interrupted: boolean;
  /** how `words` were judged: the player's playback clock, the frames sent (no reports), or its reports stopped short */
  reached: 'playback' | 'sent' | 'partial';
  /** frames of the NPC's voice stream the utterance covered: [from, to) */
  from: number;
  to: number;
}

interface Utterance {
  from: number;
  /** first frame of silence, or the frame it was cut at; undefined while it goes on */
  to?: number;
  interrupted: boolean;
  words: AssembledWord[];
  /** player → first frame sent to it */
  listeners: Map<string, number>;
  /** ms when the last frame arrived / when it ended */
  lastFrameAt: number;
  endedAt?: number;
}

interface NpcRecord {
  words: WordAssembler;
  current: Utterance | null;
  /** ended, some listener not finished yet */
  pending: Utterance[];
}

export interface HeardRecordOptions {
  /** how long after an utterance ends a clocked listener has to report reaching its end (ms) */
  graceMs?: number;
  /** frames by which a text piece leads its word's audio (the engine's textLeadFrames): a word is heard at piece frame + lead */
  leadFrames?: number;
  now?: () => number;
}

export class HeardRecord {
  private readonly npcs = new Map<string, NpcRecord>();
  /** player → npc → highest frame index played through */
  private readonly reached = new Map<string, Map<string, number>>();
  private readonly graceMs: number;
  private readonly lead: number;
  private readonly now: () => number;

  constructor(
    private readonly emit: (heard: Heard) => void,
    options: HeardRecordOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 3000;
    this.lead = options.leadFrames ?? 0;
    this.now = options.now ?? Date.now;
  }

  /** One output frame of an NPC as voice out delivered it: its events, its text piece, the players it went to. */
  frame(npc: string, i: number, piece: string | undefined, events: readonly NpcEvent[], listeners: Iterable<string>) {
    const r = this.record(npc);
    const now = this.now();
    for (const ev of events) {
      if (ev.e === 'speech-started') {
        if (r.current) this.end(r, ev.i, false);
        r.words.close();
        r.current = { from: ev.i, interrupted: false, words: [], listeners: new Map(), lastFrameAt: now };
      }
    }
    const u = r.current;
    if (u) {
      u.lastFrameAt = now;
      for (const p of listeners) if (!u.listeners.has(p)) u.listeners.set(p, i);
      if (piece !== undefined) for (const w of r.words.push(i, piece)) if (w.started) u.words.push(w.word);
    }
    for (const ev of events) {
      if (ev.e === 'interrupted' && r.current) this.end(r, ev.i, true);
      else if (ev.e === 'speech-ended' && r.current) this.end(r, ev.i, false);
    }
    this.settle(npc, r);
  }

  /** A player's playback has played NPC `npc`'s stream through frame `i`. */
  played(player: string, npc: string, i: number) {
    if (!Number.isFinite(i)) return;
    let m = this.reached.get(player);
    if (!m) this.reached.set(player, (m = new Map()));
    if (i <= (m.get(npc) ?? -Infinity)) return; // late or repeated report
    m.set(npc, i);
    const r = this.npcs.get(npc);
    if (r) this.settle(npc, r);
  }

  /** A player left: whatever it was still owed is final now, as far as it got. */
  leave(player: string) {
    for (const [npc, r] of this.npcs) {
      for (const u of r.pending) if (u.listeners.has(player)) this.finish(npc, u, player, 'partial');
      r.current?.listeners.delete(player);
      r.pending = r.pending.filter((u) => u.listeners.size > 0);
    }
    this.reached.delete(player);
  }

  /** Once per tick: utterances whose stream went quiet without an end (session closed), listeners past grace. */
  tick() {
    const now = this.now();
    for (const [npc, r] of this.npcs) {
      const u = r.current;
      if (u && now - u.lastFrameAt >= this.graceMs) this.end(r, (u.words.at(-1)?.frame ?? u.from) + this.lead + 1, false);
      for (const p of r.pending) {
        if (now - p.endedAt! < this.graceMs) continue;
        for (const player of [...p.listeners.keys()]) this.finish(npc, p, player, 'partial');
      }
      r.pending = r.pending.filter((x) => x.listeners.size > 0);
    }
  }

  /** Utterances still owed to some listener (tests, metrics). */
  get pendingCount(): number {
    let n = 0;
    for (const r of this.npcs.values()) n += r.pending.length;
    return n;
  }

  private record(npc: string): NpcRecord {
    let r = this.npcs.get(npc);
    if (!r) this.npcs.set(npc, (r = { words: new WordAssembler(), current: null, pending: [] }));
    return r;
  }

  private end(r: NpcRecord, to: number, interrupted: boolean) {
    const u = r.current!;
    u.to = Math.max(u.from, to);
    u.interrupted = interrupted;
    u.endedAt = this.now();
    r.current = null;
    r.words.close();
    if (u.listeners.size > 0) r.pending.push(u);
  }

  /** Finish every listener whose playback has passed the end of an ended utterance (or who has no clock). */
  private settle(npc: string, r: NpcRecord) {
    if (r.pending.length === 0) return;
    for (const u of r.pending) {
      for (const player of [...u.listeners.keys()]) {
        const at = this.reached.get(player)?.get(npc);
        if (at === undefined) this.finish(npc, u, player, 'sent');
        else if (at >= u.to! - 1) this.finish(npc, u, player, 'playback');
      }
    }
    r.pending = r.pending.filter((u) => u.listeners.size > 0);
  }

  private finish(npc: string, u: Utterance, player: string, reached: Heard['reached']) {
    const first = u.listeners.get(player)!;
    u.listeners.delete(player);
    const last = reached === 'sent' ? u.to! - 1 : Math.min(u.to! - 1, this.reached.get(player)?.get(npc) ?? -Infinity);
    const words = u.words.filter((w) => w.frame >= first && w.frame + this.lead <= last).map((w) => w.text);
    this.emit({ npc, player, words, interrupted: u.interrupted, reached, from: u.from, to: u.to! });
  }
}
