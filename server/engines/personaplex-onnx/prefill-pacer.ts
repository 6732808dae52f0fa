/**
 * Keeps a new session's prompt prefill from delaying the sessions already stepping. onnxruntime-node runs a
 * graph synchronously on the calling thread, so a 256-frame prefill run between two ticks makes the next tick
 * late by its whole duration. While sessions step, the pacer lets a prefill run start only right after a
 * step has finished and sizes it to the slack left in the tick (budget − the last step's time), from the
 * measured cost per prefill frame. With nobody stepping, prefill runs at full chunk size.
 */
export interface PacerOptions {
  /** the tick budget (ms) */
  tickMs?: number;
  /** share of the tick the step and a prefill run may fill together */
  fill?: number;
  maxChunk: number;
  /** sessions count as stepping while a step ended within this long (default max(2 ticks, 160 ms)) */
  idleMs?: number;
  /** a prefill waiting for a step runs anyway after this long (default max(1.5 ticks, 120 ms)) */
  guardMs?: number;
  now?: () => number;
}

export class PrefillPacer {
  private waiters: (() => void)[] = [];
  private lastEnd = -Infinity;
  private lastStepMs = 0;
  /** measured ms per prefill frame (0 until the first run) */
  private msPerFrame = 0;
  readonly log: { kind: 'step' | 'prefill'; frames?: number }[] = [];
  private readonly tickMs: number;
  private readonly fill: number;
  private readonly now: () => number;

  constructor(private readonly o: PacerOptions) {
    this.tickMs = o.tickMs ?? 80;
    this.fill = o.fill ?? 0.75;
    this.now = o.now ?? (() => performance.now());
  }

  stepEnded(ms: number) {
    this.lastEnd = this.now();
    this.lastStepMs = ms;
    this.note({ kind: 'step' });
    for (const w of this.waiters.splice(0)) w();
  }

  /** Whether sessions are stepping (a step ended within the last two ticks, or 160 ms). */
  get stepping() {
    return this.now() - this.lastEnd < (this.o.idleMs ?? Math.max(2 * this.tickMs, 160));
  }

  /** Waits for the moment to run the next prefill and returns how many frames it may cover. */
  async slot(): Promise<number> {
    if (!this.stepping) return this.o.maxChunk;
    // Right after the next step (or after a tick and a half if stepping has stopped).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.o.guardMs ?? Math.max(1.5 * this.tickMs, 120));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!this.stepping) return this.o.maxChunk;
    const slack = this.fill * this.tickMs - this.lastStepMs;
    if (this.msPerFrame === 0) return Math.min(this.o.maxChunk, 4); // a small first run measures the cost
    return Math.max(1, Math.min(this.o.maxChunk, Math.floor(slack / this.msPerFrame)));
  }

  prefillRan(frames: number, ms: number) {
    // The latest run's cost per frame: over-estimates small runs (fixed cost), so chunks grow as they prove cheap.
    this.msPerFrame = ms / Math.max(1, frames);
    this.note({ kind: 'prefill', frames });
  }

  private note(e: { kind: 'step' | 'prefill'; frames?: number }) {
    this.log.push(e);
    if (this.log.length > 256) this.log.splice(0, this.log.length - 256);
  }
}
