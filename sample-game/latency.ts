/**
 * Latency as the player feels it, measured in the page from what the plugin reports (no server help needed):
 *  - reply: from the end of the player's speech (mic level) to the NPC's voice becoming audible (its level);
 *  - yield: from the player starting to talk over a speaking NPC to the moment its voice stopped for it: the
 *    NPC's `paused` event when it hesitated first (the plugin drops its buffered speech then), else its
 *    `interrupted` event. Counted once the NPC has given its line up (`interrupted`); a pause it picks the line
 *    up from (`resumed`: the player only said "yeah") is no yield; an NPC already paused when the page first heard
 *    the player yielded in 0 ms.
 * Audibility comes from the voice's level, not `voice.playing`: a session streams frames (silent ones too) for
 * as long as it is open.
 * Pure logic fed with timestamps, so it is unit-tested; the HUD shows the last and the median of recent values.
 */

export interface LatencyMeterOptions {
  /** mic level (dBFS) above which a sent frame counts as speech (default −45) */
  speechDbfs?: number;
  /** quiet this long ends the player's speech, ms (default 240: three frames) */
  hangoverMs?: number;
  /** NPC voice RMS above which it is audible (default 0.004, about −48 dBFS) */
  voiceFloor?: number;
  /** an NPC quiet this long has stopped speaking, ms (default 300: longer than the gaps between words) */
  voiceHangoverMs?: number;
  /** a reply later than this after the player stopped is not a reply, ms (default 6000) */
  maxReplyMs?: number;
  /** how many recent values the medians cover (default 9) */
  keep?: number;
}

export class LatencyMeter {
  private readonly speechDbfs: number;
  private readonly hangoverMs: number;
  private readonly maxReplyMs: number;
  private readonly keep: number;
  private readonly voiceFloor: number;
  private readonly voiceHangoverMs: number;
  private talking = false;
  private lastVoiceAt = -Infinity;
  /** end of the player's last speech, waiting for a reply */
  private spokeEndedAt: number | null = null;
  /** NPCs audible now, with when they were last loud */
  private readonly audible = new Map<string, number>();
  /** NPCs speaking now (between their speech-started and speech-ended), and when the player talked over each */
  private readonly speaking = new Set<string>();
  private readonly bargeAt = new Map<string, number>();
  /** when each NPC paused for the player's voice, until it gives its line up or resumes */
  private readonly pausedAt = new Map<string, number>();
  readonly replies: number[] = [];
  readonly yields: number[] = [];

  constructor(opts: LatencyMeterOptions = {}) {
    this.speechDbfs = opts.speechDbfs ?? -45;
    this.hangoverMs = opts.hangoverMs ?? 240;
    this.maxReplyMs = opts.maxReplyMs ?? 6000;
    this.keep = opts.keep ?? 9;
    this.voiceFloor = opts.voiceFloor ?? 0.004;
    this.voiceHangoverMs = opts.voiceHangoverMs ?? 300;
  }

  /** Whether the player is talking now (after the hangover). */
  get playerTalking(): boolean {
    return this.talking;
  }

  /** One mic frame: its level and whether it was sent to the server. */
  onMic(now: number, dbfs: number, sent: boolean): void {
    const voiced = sent && dbfs > this.speechDbfs;
    if (voiced) {
      if (!this.talking) {
        this.talking = true;
        this.spokeEndedAt = null;
        for (const npc of this.speaking) if (!this.bargeAt.has(npc)) this.bargeAt.set(npc, now);
      }
      this.lastVoiceAt = now;
    } else if (this.talking && now - this.lastVoiceAt >= this.hangoverMs) {
      this.talking = false;
      this.spokeEndedAt = this.lastVoiceAt;
    }
  }

  /** An NPC voice's level (RMS) as measured now: call it every render frame, for every voice. */
  onNpcLevel(now: number, npc: string, rms: number): void {
    const loudAt = this.audible.get(npc);
    if (rms > this.voiceFloor) {
      if (loudAt === undefined && this.spokeEndedAt !== null && !this.talking) {
        const ms = now - this.spokeEndedAt;
        if (ms >= 0 && ms <= this.maxReplyMs) this.push(this.replies, ms);
        this.spokeEndedAt = null;
      }
      this.audible.set(npc, now);
    } else if (loudAt !== undefined && now - loudAt >= this.voiceHangoverMs) {
      this.audible.delete(npc);
    }
  }

  /** The NPC's speech-started / speech-ended events. */
  onNpcSpeech(npc: string, speaking: boolean): void {
    if (speaking) this.speaking.add(npc);
    else {
      this.speaking.delete(npc);
      this.bargeAt.delete(npc); // it finished on its own
      this.pausedAt.delete(npc);
    }
  }

  /** The NPC's `paused` event: it fell quiet for the player's voice (the plugin has dropped its buffered speech). */
  onPaused(now: number, npc: string): void {
    if (this.speaking.has(npc) && !this.pausedAt.has(npc)) this.pausedAt.set(npc, now);
  }

  /** The NPC's `resumed` event: it carries on with its line; the voice over it was no barge-in. */
  onResumed(npc: string): void {
    this.pausedAt.delete(npc);
    this.bargeAt.delete(npc);
  }

  /** The NPC's `interrupted` event: it gave its line up (the plugin drops what is still buffered). */
  onInterrupted(now: number, npc: string): void {
    const at = this.bargeAt.get(npc);
    const stoppedAt = this.pausedAt.get(npc) ?? now;
    // Already paused when the page first heard the player (a soft onset under speechDbfs, or a sound before their
    // words paused it): the NPC did not talk over them at all, 0 ms. The figure was dropped before.
    if (at !== undefined) this.push(this.yields, Math.max(0, stoppedAt - at));
    this.bargeAt.delete(npc);
    this.pausedAt.delete(npc);
    this.speaking.delete(npc);
  }

  get lastReplyMs(): number | null {
    return this.replies.at(-1) ?? null;
  }

  get lastYieldMs(): number | null {
    return this.yields.at(-1) ?? null;
  }

  static median(xs: readonly number[]): number | null {
    if (xs.length === 0) return null;
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  private push(list: number[], ms: number): void {
    list.push(ms);
    if (list.length > this.keep) list.shift();
  }
}
