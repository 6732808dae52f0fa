/**
 * A player's voice frames, aligned to the room tick. Frames are ordered by sequence number; each tick takes the
 * oldest. After an underrun it waits until `primeFrames` are buffered, which absorbs network jitter at the cost
 * of that many frames of delay. Past `maxFrames` the oldest are dropped (a client faster than real time cannot
 * grow the queue), and a frame older than the last one played is dropped as late.
 */
export interface UplinkJitterStats {
  late: number;
  duplicate: number;
  overflow: number;
  missing: number;
}

export class UplinkJitterBuffer<T> {
  private frames: { seq: number; value: T; arrived: number; firstTick: number }[] = [];
  /** the frame `pop` just returned: ms from its arrival to the first tick after it, and held past that tick */
  lastWait: { tickMs: number; heldMs: number } | null = null;
  private lastSeq = -1;
  private primed = false;
  readonly stats: UplinkJitterStats = { late: 0, duplicate: 0, overflow: 0, missing: 0 };

  constructor(
    readonly primeFrames = 2,
    readonly maxFrames = 6,
  ) {}

  /** Returns why the frame was not kept, 'overflow' when keeping it pushed the oldest out, or null. */
  push(seq: number, value: T, now = performance.now()): 'late' | 'duplicate' | 'overflow' | null {
    if (seq <= this.lastSeq) {
      this.stats.late++;
      return 'late';
    }
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

  /** The frame for this tick, or null (silence). */
  pop(now = performance.now()): T | null {
    this.lastWait = null;
    for (const f of this.frames) if (f.firstTick !== f.firstTick) f.firstTick = now;
    if (!this.primed) {
      if (this.frames.length < this.primeFrames) return null;
      this.primed = true;
    }
    const f = this.frames.shift();
    if (!f) {
      this.primed = false;
      this.stats.missing++;
      return null;
    }
    this.lastSeq = f.seq;
    this.lastWait = { tickMs: f.firstTick - f.arrived, heldMs: now - f.firstTick };
    return f.value;
  }

  get depth() {
    return this.frames.length;
  }
}
