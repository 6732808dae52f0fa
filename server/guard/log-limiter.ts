/**
 * Log lines a client can cause (Colyseus's own errors on bad frames, failed joins, dropped sockets) must not
 * become a flood: per kind of line, a burst per window is written and the rest are counted and summarised once
 * the window rolls over. Kinds are the line's first words with numbers and ids blanked, so one flood is one kind.
 */
export interface LogLimiterOptions {
  /** lines of one kind written per window */
  burst?: number;
  windowMs?: number;
  /** most kinds tracked at once (a flood of distinct lines cannot grow memory) */
  maxKinds?: number;
}

export interface LogVerdict {
  write: boolean;
  /** lines of this kind dropped in the window that just ended (write a summary when > 0) */
  droppedBefore: number;
}

export class LogLimiter {
  private kinds = new Map<string, { start: number; n: number; dropped: number }>();
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxKinds: number;

  constructor(opts: LogLimiterOptions = {}) {
    this.burst = opts.burst ?? 10;
    this.windowMs = opts.windowMs ?? 10_000;
    this.maxKinds = opts.maxKinds ?? 200;
  }

  static kindOf(line: string): string {
    return line.slice(0, 200).replace(/[0-9a-f]{6,}|[A-Za-z0-9_-]{9}(?=[^A-Za-z0-9_-]|$)|\d+/g, '#').slice(0, 60);
  }

  admit(line: string, now = Date.now()): LogVerdict {
    const kind = LogLimiter.kindOf(line);
    let k = this.kinds.get(kind);
    if (!k) {
      if (this.kinds.size >= this.maxKinds) {
        for (const [key, v] of this.kinds) if (now - v.start >= this.windowMs) this.kinds.delete(key);
        // still full: every further kind shares one bucket
        if (this.kinds.size >= this.maxKinds) return this.admitIn('*', now);
      }
      this.kinds.set(kind, (k = { start: now, n: 0, dropped: 0 }));
    }
    return this.admitIn(kind, now);
  }

  private admitIn(kind: string, now: number): LogVerdict {
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, (k = { start: now, n: 0, dropped: 0 }));
    let droppedBefore = 0;
    if (now - k.start >= this.windowMs) {
      droppedBefore = k.dropped;
      Object.assign(k, { start: now, n: 0, dropped: 0 });
    }
    if (++k.n > this.burst) {
      k.dropped++;
      return { write: false, droppedBefore };
    }
    return { write: true, droppedBefore };
  }
}
