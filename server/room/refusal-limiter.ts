/**
 * A flood of bad messages must not become a flood of log lines or replies: per player, a burst of refusals per
 * window is logged and told to the player; the rest are only counted, and summarised when the window rolls over.
 */
export const REFUSAL_BURST = 8;
export const REFUSAL_WINDOW_MS = 5000;

export interface RefusalVerdict {
  /** log it and tell the player */
  tell: boolean;
  /** refusals of the window that just ended that were not told (log a summary when > 0) */
  untoldBefore: number;
}

export class RefusalLimiter {
  private windowStart = -Infinity;
  private inWindow = 0;
  private untold = 0;

  constructor(
    private readonly burst = REFUSAL_BURST,
    private readonly windowMs = REFUSAL_WINDOW_MS,
  ) {}

  admit(now: number): RefusalVerdict {
    let untoldBefore = 0;
    if (now - this.windowStart >= this.windowMs) {
      untoldBefore = this.untold;
      this.windowStart = now;
      this.inWindow = 0;
      this.untold = 0;
    }
    if (++this.inWindow > this.burst) {
      this.untold++;
      return { tell: false, untoldBefore };
    }
    return { tell: true, untoldBefore };
  }
}
