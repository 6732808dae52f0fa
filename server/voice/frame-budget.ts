/**
 * A player's voice budget, checked before any decoding: a token bucket at real time plus slack (12.5 frames/s,
 * 25 % over, a burst of 8 frames after a network stall), so a client faster than real time costs the room one
 * cheap check per extra frame. A client that stays far over budget (many times real time, over a whole window)
 * is to be dropped.
 */
import { FRAME_MS } from '../../protocol/frame.ts';

export interface FrameBudgetOptions {
  /** frames per second allowed on average (default: real time + 25 %) */
  rate?: number;
  /** frames that may arrive at once after a network stall */
  burst?: number;
  /** over-budget frames within `windowMs` that mark a client as hostile */
  dropAfter?: number;
  windowMs?: number;
}

export type BudgetVerdict = 'take' | 'over' | 'drop';

export class FrameBudget {
  private tokens: number;
  private last: number | null = null;
  private windowStart = 0;
  private overInWindow = 0;
  /** frames refused over budget, all time */
  over = 0;
  readonly rate: number;
  readonly burst: number;
  readonly dropAfter: number;
  readonly windowMs: number;

  constructor(opts: FrameBudgetOptions = {}) {
    this.rate = opts.rate ?? (1000 / FRAME_MS) * 1.25;
    this.burst = opts.burst ?? 8;
    this.windowMs = opts.windowMs ?? 2000;
    // default: past ~13× real time sustained over the window (a 10× flood is dropped frames, not a dropped client)
    this.dropAfter = opts.dropAfter ?? Math.round((this.windowMs / 1000) * (1000 / FRAME_MS) * 12);
    this.tokens = this.burst;
  }

  take(now: number): BudgetVerdict {
    if (this.last !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'take';
    }
    this.over++;
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.overInWindow = 0;
    }
    return ++this.overInWindow > this.dropAfter ? 'drop' : 'over';
  }
}
