/**
 * A player's voice frames, aligned to the room tick. Frames are ordered by sequence number; each tick takes one.
 * Past `maxFrames` the oldest are dropped (a client faster than real time cannot grow the queue), and a frame
 * older than the last one played is dropped as late.
 *
 * Two modes:
 *  - fixed (`primeFrames` a number): after an underrun it waits until that many frames are buffered, which
 *    absorbs network jitter at the cost of that many frames of delay.
 *  - adaptive (the default): a frame plays at the first tick after it arrives. A missing frame (lost, or later
 *    than its tick) is concealed and skipped, never waited for; if it turns up later it is late. Each played
 *    frame's slack (tick time − arrival) is kept over a window: the smallest slack, less a safety margin, is how
 *    much earlier the tick could fire for this player (`phaseWishMs`, read by the conductor to move the tick grid
 *    onto the players' arrivals), and a late frame makes it negative (fire later). When the jitter is wider than
 *    a tick can cover, one more frame is held (up to 3; the tick that adds it is concealed); frames that pile up
 *    past that (after a stall that skipped ticks) are trimmed, so a stall never leaves its delay behind. With
 *    `isSilent`, only silent frames are trimmed while the player speaks (their words reach the engine whole, a
 *    little late), until the delay has stood for `trimSpeechAfterTicks`; then speech is trimmed too.
 */
export interface UplinkJitterStats {
  late: number;
  duplicate: number;
  overflow: number;
  /** ticks with no frame to play (adaptive: concealed) */
  missing: number;
  /** frames dropped to bring the delay back down after frames piled up (adaptive) */
  trimmed: number;
  /** ticks that held a frame back to widen the buffer for jitter (adaptive: concealed, like a missing frame) */
  held: number;
}

export interface AdaptiveOptions {
  /** tick period, ms */
  periodMs?: number;
  /** played frames the slack window covers */
  windowFrames?: number;
  /** slack kept between a frame's arrival and its tick, ms */
  safetyMs?: number;
  /** no frame for this long: the player stopped sending; start afresh on the next one */
  idleMs?: number;
  /** what a missing frame is replaced with, given the last frame played (null: silence) */
  conceal?: (last: unknown, consecutive: number) => unknown;
  /** whether a frame carries no speech, so trimming it loses nothing (absent: any frame may be trimmed) */
  isSilent?: (value: unknown) => boolean;
  /** ticks a piled-up delay may stand while only speech is buffered before speech is trimmed too */
  trimSpeechAfterTicks?: number;
}

interface Held<T> {
  seq: number;
  value: T;
  arrived: number;
  firstTick: number;
}

export class UplinkJitterBuffer<T> {
  private frames: Held<T>[] = [];
  private lastSeq = -1;
  private primed = false;
  readonly stats: UplinkJitterStats = { late: 0, duplicate: 0, overflow: 0, missing: 0, trimmed: 0, held: 0 };
  /** the frame `pop` just returned: ms from its arrival to the first tick after it, and held past that tick */
  lastWait: { tickMs: number; heldMs: number } | null = null;

  readonly adaptive: boolean;
  private readonly periodMs: number;
  private readonly safetyMs: number;
  private readonly idleMs: number;
  private readonly conceal: (last: unknown, consecutive: number) => unknown;
  private readonly isSilent: ((value: unknown) => boolean) | null;
  private readonly trimSpeechAfter: number;
  /** adaptive: next sequence number to play, -1 when not started */
  private expected = -1;
  private lastArrival = -Infinity;
  private lastPlayed: T | null = null;
  private concealedRun = 0;
  /** adaptive: seq → tick time it was concealed at, to measure how late it came */
  private concealedAt = new Map<number, number>();
  private readonly slack: Float64Array;
  private slackCount = 0;
  private slackHead = 0;
  /** adaptive: frames held beyond the one being played, for jitter wider than a tick */
  private extra = 0;
  private aboveFor = 0;
  private calmFor = 0;

  constructor(
    readonly primeFrames: number | 'adaptive' = 'adaptive',
    readonly maxFrames = 6,
    opts: AdaptiveOptions = {},
  ) {
    this.adaptive = primeFrames === 'adaptive';
    this.periodMs = opts.periodMs ?? 80;
    this.safetyMs = opts.safetyMs ?? 6;
    this.idleMs = opts.idleMs ?? 3 * this.periodMs;
    this.conceal = opts.conceal ?? (() => null);
    this.isSilent = opts.isSilent ?? null;
    this.trimSpeechAfter = opts.trimSpeechAfterTicks ?? 25;
    this.slack = new Float64Array(opts.windowFrames ?? 50);
  }

  /** Returns why the frame was not kept, 'overflow' when keeping it pushed the oldest out, or null. */
  push(seq: number, value: T, now = performance.now()): 'late' | 'duplicate' | 'overflow' | null {
    if (seq <= this.lastSeq || (this.adaptive && this.expected >= 0 && seq < this.expected)) {
      this.stats.late++;
      const at = this.concealedAt.get(seq);
      if (at !== undefined) {
        // It missed its tick by this much: the tick should fire later (or hold a frame more).
        this.observeSlack(at - now);
        this.concealedAt.delete(seq);
      }
      return 'late';
    }
    this.lastArrival = now;
    let i = this.frames.length;
    while (i > 0 && this.frames[i - 1]!.seq > seq) i--;
    if (i > 0 && this.frames[i - 1]!.seq === seq) {
      this.stats.duplicate++;
      return 'duplicate';
    }
    this.frames.splice(i, 0, { seq, value, arrived: now, firstTick: NaN });
    if (this.frames.length > this.maxFrames) {
      this.frames.shift();
      this.stats.overflow++;
      return 'overflow';
    }
    return null;
  }

  /**
   * The frame for this tick, or null (silence). `earlyMs`: the tick fired this long before its deadline (all the
   * frames it waited for were in); slack is measured against the deadline, so the grid's phase is unchanged by it.
   */
  pop(now = performance.now(), earlyMs = 0): T | null {
    this.lastWait = null;
    for (const f of this.frames) if (f.firstTick !== f.firstTick) f.firstTick = now;
    if (this.adaptive) return this.popAdaptive(now, now + Math.max(0, earlyMs));
    if (!this.primed) {
      if (this.frames.length < (this.primeFrames as number)) return null;
      this.primed = true;
    }
    const f = this.frames.shift();
    if (!f) {
      this.primed = false;
      this.stats.missing++;
      return null;
    }
    return this.played(f, now);
  }

  private popAdaptive(now: number, deadline: number): T | null {
    if (this.expected < 0) {
      if (this.frames.length === 0) return null;
      this.expected = this.frames[0]!.seq;
    }
    if (this.frames.length === 0 && now - this.lastArrival >= this.idleMs) {
      // The player stopped sending (muted, tab hidden): start afresh on the next frame.
      this.expected = -1;
      this.lastPlayed = null;
      this.concealedRun = 0;
      return null;
    }
    this.trim();
    const head = this.frames[0];
    if (head && this.frames.length > this.extra) {
      // Frames before the head never came (lost, or pushed out): skip them rather than add their delay.
      if (head.seq > this.expected) this.stats.missing += head.seq - this.expected;
      this.frames.shift();
      this.expected = head.seq + 1;
      this.concealedRun = 0;
      this.observeSlack(deadline - head.arrived);
      const v = this.played(head, now);
      this.lastPlayed = v;
      return v;
    }
    if (head) {
      // Holding one frame more for a wider jitter: the slot this adds is concealed, never a hole in a word.
      this.stats.held++;
      return this.conceal(this.lastPlayed, ++this.concealedRun) as T | null;
    }
    // Nothing here: the frame is lost or late. Conceal it and move on; waiting would delay everything after it.
    this.stats.missing++;
    this.concealedAt.set(this.expected, deadline);
    if (this.concealedAt.size > 16) this.concealedAt.delete(this.concealedAt.keys().next().value!);
    this.lastSeq = this.expected;
    this.expected++;
    return this.conceal(this.lastPlayed, ++this.concealedRun) as T | null;
  }

  /** Frames kept back beyond the one played this tick (0 when the tick's phase covers the jitter). */
  private heldBack(): number {
    return this.extra;
  }

  /**
   * After a stall that skipped ticks, frames pile up: drop them back to the target, one every few ticks, the
   * oldest first, and (with `isSilent`) only a silent one until the delay has stood too long.
   */
  private trim() {
    const excess = this.frames.length - 1 - this.extra;
    this.aboveFor = excess > 0 ? this.aboveFor + 1 : 0;
    if (this.aboveFor < 4) return;
    const head = this.frames[0]!;
    if (this.isSilent && !this.isSilent(head.value) && this.aboveFor < this.trimSpeechAfter) return; // speech: keep it
    this.frames.shift();
    this.expected = head.seq + 1;
    this.stats.trimmed++;
    this.aboveFor = 0;
    this.slackCount = 0; // what is left waits a tick less: measure afresh
  }

  private played(f: Held<T>, now: number): T {
    this.lastSeq = f.seq;
    this.lastWait = { tickMs: f.firstTick - f.arrived, heldMs: now - f.firstTick };
    return f.value;
  }

  private observeSlack(ms: number) {
    this.slack[this.slackHead] = ms;
    this.slackHead = (this.slackHead + 1) % this.slack.length;
    this.slackCount = Math.min(this.slackCount + 1, this.slack.length);
    const { min, max } = this.slackRange();
    // Jitter wider than a tick can cover: hold a frame more; well inside it again for a window: one less.
    if (min < -this.safetyMs && max - min > this.periodMs - this.safetyMs && this.extra < 3) {
      this.extra++;
      this.calmFor = 0;
      this.slackCount = 0; // measure again with the frame held
    } else if (this.extra > 0 && max - min < this.periodMs / 2) {
      if (++this.calmFor >= this.slack.length) {
        this.extra--;
        this.calmFor = 0;
      }
    }
  }

  private slackRange() {
    let min = Infinity;
    let max = -Infinity;
    for (let k = 0; k < this.slackCount; k++) {
      const v = this.slack[k]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min, max };
  }

  /**
   * Adaptive: whether the frame the coming tick takes is already here. null when the tick does not wait on this
   * player (fixed mode, or not sending: not started, or idle).
   */
  readyForTick(now = performance.now()): boolean | null {
    if (!this.adaptive) return null;
    if (this.expected < 0) return this.frames.length > 0 ? true : null;
    if (this.frames.length === 0 && now - this.lastArrival >= this.idleMs) return null;
    return this.frames.length > this.extra;
  }

  /**
   * Adaptive: how much earlier (ms; negative: later) the tick could fire and still find this player's frames
   * in, with the safety margin; null until enough frames have been seen.
   */
  phaseWishMs(): number | null {
    if (!this.adaptive || this.expected < 0 || this.slackCount < 8) return null;
    const { min } = this.slackRange();
    return min - this.extra * this.periodMs - this.safetyMs;
  }

  /** The tick grid moved `ms` earlier: every frame's slack is that much smaller. */
  shifted(ms: number) {
    for (let k = 0; k < this.slackCount; k++) this.slack[k]! -= ms;
  }

  get depth() {
    return this.frames.length;
  }

  /** Frames held beyond the one played each tick (adaptive). */
  get extraFrames() {
    return this.extra;
  }
}
