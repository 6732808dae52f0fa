/**
 * Main-thread reader of a playback worklet's samples-played clock. Reads the SharedArrayBuffer the worklet
 * writes every render quantum when there is one (cross-origin isolated pages), else the latest port message;
 * either way it extrapolates from the context time of the report and subtracts the output latency.
 */
import { SAMPLE_RATE } from '../../protocol/frame.ts';
import {
  CLOCK_BUFFERED_MS,
  CLOCK_CTX_TIME,
  CLOCK_FLUSH_SEQ,
  CLOCK_PLAYING,
  CLOCK_POS,
  CLOCK_RUN_START,
  CLOCK_SLOTS,
  CLOCK_TARGET_MS,
  CLOCK_UNDERRUNS,
  type PlaybackClockMsg,
} from '../worklets/messages.ts';

/** never extrapolate further than this past a report (a stalled worklet must not run the clock away) */
const MAX_EXTRAPOLATION_S = 0.1;

export class StreamClock {
  readonly shared: SharedArrayBuffer | null;
  private readonly view: Float64Array | null;
  private last: PlaybackClockMsg | null = null;
  private floor = 0;
  /** flushes asked for; until the worklet reports the latest done, its reports predate it and are not read */
  private flushSeq = 0;

  constructor(
    private readonly ctx: BaseAudioContext,
    useShared: boolean,
    private readonly streamRate = SAMPLE_RATE,
  ) {
    this.shared = useShared && typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(CLOCK_SLOTS * 8) : null;
    this.view = this.shared ? new Float64Array(this.shared) : null;
  }

  onReport(msg: PlaybackClockMsg): void {
    this.last = msg;
  }

  /**
   * The voice was interrupted: from now until the worklet reports the flush done, the clock stands where it
   * reads now. (Reports already on their way describe audio that was playing before the cut; read on, a clock
   * would run on for up to its extrapolation limit past the cut.) Returns the flush's number for the worklet.
   */
  interrupt(): number {
    this.floor = this.position;
    return ++this.flushSeq;
  }

  /** Whether the worklet has not yet reported the latest flush done. */
  private get flushPending(): boolean {
    if (this.flushSeq === 0) return false;
    const done = this.view ? this.view[CLOCK_FLUSH_SEQ] : (this.last?.flushSeq ?? 0);
    return done < this.flushSeq;
  }

  /** Forget the monotonic floor (after a flush or a new stream). */
  resetFloor(): void {
    this.floor = 0;
  }

  get playing(): boolean {
    if (this.flushPending) return false;
    return this.view ? this.view[CLOCK_PLAYING] === 1 : (this.last?.playing ?? false);
  }

  get bufferedMs(): number {
    return this.view ? this.view[CLOCK_BUFFERED_MS] : (this.last?.bufferedMs ?? 0);
  }

  get targetMs(): number {
    return this.view ? this.view[CLOCK_TARGET_MS] : (this.last?.targetMs ?? 0);
  }

  get underruns(): number {
    return this.view ? this.view[CLOCK_UNDERRUNS] : (this.last?.underruns ?? 0);
  }

  get lastReport(): PlaybackClockMsg | null {
    return this.last;
  }

  /** Stream sample position audible now. */
  get position(): number {
    if (this.flushPending) return this.floor;
    let pos: number;
    let at: number;
    let playing: boolean;
    let runStart: number;
    if (this.view && this.view[CLOCK_CTX_TIME] > 0) {
      pos = this.view[CLOCK_POS];
      at = this.view[CLOCK_CTX_TIME];
      playing = this.view[CLOCK_PLAYING] === 1;
      runStart = this.view[CLOCK_RUN_START];
    } else if (this.last) {
      pos = this.last.pos;
      at = this.last.ctxTime;
      playing = this.last.playing;
      runStart = this.last.runStart ?? 0;
    } else {
      return 0;
    }
    if (playing) {
      const elapsed = Math.min(MAX_EXTRAPOLATION_S, Math.max(0, this.ctx.currentTime - at));
      pos += elapsed * this.streamRate - this.latencySeconds() * this.streamRate;
      // a run just started is not heard yet for the output latency: it reads at its start, never back in the gap
      // (or the flushed speech) before it
      pos = Math.max(pos, runStart);
    }
    pos = Math.max(0, pos);
    // Small backward steps come from extrapolation error; hold still instead. A big one is a new stream.
    if (pos < this.floor && this.floor - pos < 1920) return this.floor;
    this.floor = pos;
    return pos;
  }

  private latencySeconds(): number {
    const c = this.ctx as Partial<AudioContext>;
    const out = typeof c.outputLatency === 'number' && Number.isFinite(c.outputLatency) ? c.outputLatency : 0;
    const base = typeof c.baseLatency === 'number' && Number.isFinite(c.baseLatency) ? c.baseLatency : 0;
    return out + base;
  }
}
