/**
 * Per-NPC playout buffer for 80 ms frames that arrive with network jitter, keyed by the frame index on the
 * NPC's voice stream. It holds back playback until a target depth is buffered, adapts that target (60–200 ms by
 * default) to the arrival jitter it measures, conceals short gaps with silence so the play position stays on the
 * server's frame-index scale, skips long gaps (a new talk spurt), drops silent frames that pile up past the target
 * (overrun; speech only far past it, so a stalled page or connection catching up costs delay, not words) and
 * empties at once on `flush()` (the NPC was interrupted).
 *
 * Read with the clock (`read(out, nowMs)`, as the playback worklet does), it keeps the delay NetEQ-like: one frame
 * plus the jitter. It starts playing once the audio buffered, plus the time since the last frame arrived, covers
 * a frame and the jitter allowance (how much later than an earlier frame of the last 50 any frame came, a lone
 * spike left out, + 4 ms, raised after an underrun), not whole
 * frames later; when the audio left at each arrival has stayed above that allowance for a second, it skips that
 * much of a silent frame (the NPC is listening), so a delay that built up (an underrun, a burst) drains without a
 * sound; when speech arrives with only silence queued ahead of it (an answer starting), it skips that silence down
 * to the allowance at once; running dry in silence is inaudible, so it adds no bump to the margin; and
 * when it runs dry mid-speech it fades the last 10 ms out over 30 ms instead of cutting to silence.
 * None of this moves the play position off the frame-index scale: skipped samples are skipped positions.
 *
 * The play position is always `frame index × frameSamples + offset within it`: the lip-sync clock.
 * Plain TS, driven with explicit times so it can be tested in Node; the playback worklet owns one per NPC.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import { rms } from '../../protocol/dsp/level.ts';

export interface PlayoutBufferOptions {
  frameSamples?: number;
  sampleRate?: number;
  /** adaptive target bounds, ms of audio buffered before playback starts */
  minTargetMs?: number;
  maxTargetMs?: number;
  /** missing frames inside a talk spurt that are played as silence; a longer gap is skipped */
  maxGapFrames?: number;
  /** frames buffered beyond target + one frame + this margin are dropped, oldest first, down to target + one frame,
   * while the oldest is silent */
  overrunMarginMs?: number;
  /** speech is dropped for overrun only beyond target + one frame + this much (default 1500 ms): the words of a
   * burst after a stall play late (the delay drains in the next silence) rather than being lost */
  overrunSpeechMs?: number;
  /** arrivals the jitter estimate looks back over */
  windowFrames?: number;
  /** a frame this many frames behind the play position means the stream restarted: start over */
  restartFrames?: number;
  /** ms added to the margin by an audible underrun (decaying by 0.25 ms per arrival) */
  underrunBumpMs?: number;
  /** ms kept beyond the measured arrival spread (the jitter allowance = spread + this + an underrun's bump) */
  safetyMs?: number;
  /** how many of the window's largest lateness values may be left out of the spread while each is a lone spike
   * (default 1; 0: the largest always counts) */
  loneSpikes?: number;
}

/** RMS below which a frame counts as silent (the NPC listening): skipping part of it is inaudible. */
const SILENT_RMS = 0.002;
/** arrivals the audio left over is watched across before a built-up delay is drained */
const DRAIN_AFTER = 12;
/** audio kept above the start margin when draining (ms): render-quantum rounding, not jitter */
const DRAIN_SLACK_MS = 2;
/** a lateness value is a lone spike when it is more than this many times the next largest, plus LONE_SPIKE_MS */
const LONE_SPIKE_RATIO = 2;
const LONE_SPIKE_MS = 2;
const TAIL = 240; // 10 ms at 24 kHz: what an underrun fades out
const FADE = 720; // over 30 ms

export interface PlayoutStats {
  received: number;
  played: number;
  late: number;
  duplicate: number;
  concealed: number;
  skipped: number;
  /** playback ran dry mid-sound waiting for a frame that then arrived (late): an audible gap the margin failed to cover */
  underruns: number;
  /** playback ran dry in silence (the NPC listening) for a frame that then arrived: inaudible; no margin bump */
  lateInSilence: number;
  /** playback ran dry at a frame that never came (a later one came first): lost, concealed, not an underrun */
  lost: number;
  overrunDropped: number;
  flushed: number;
  /** samples of silent frames skipped to drain a delay that had built up (clocked reads only) */
  drained: number;
}

export type PushResult = 'queued' | 'late' | 'duplicate' | 'restart' | 'invalid';

export class PlayoutBuffer {
  readonly frameSamples: number;
  readonly sampleRate: number;
  readonly frameMs: number;
  readonly minTargetMs: number;
  readonly maxTargetMs: number;
  private readonly maxGapFrames: number;
  private readonly overrunMarginMs: number;
  private readonly overrunSpeechMs: number;
  private readonly restartFrames: number;
  private readonly safetyMs: number;
  private readonly underrunBumpMs: number;
  private readonly loneSpikes: number;
  /** the window's largest lateness values, largest first (loneSpikes + 1 of them) */
  private readonly top: number[] = [];

  private readonly frames = new Map<number, Float32Array>();
  private playingState = false;
  /** index of the frame being played (or next to play); -1 before the first frame */
  private nextIndex = -1;
  private offset = 0;
  /** the frame the current run of playback started at (a (re)start or a skipped gap); -1 before any */
  private runStartIndex = -1;
  /** the index playback ran dry at, to tell a late frame (underrun) from a new talk spurt */
  private dryAt: number | null = null;
  /** what played last before running dry was silent: a late frame there is not heard as a gap */
  private drySilent = false;

  private readonly delays: Float64Array;
  private delayCount = 0;
  private delayHead = 0;
  private lastPushed = -1;
  private lastArrivalMs = -Infinity;
  private bumpMs = 0;
  private target: number;
  /** the arrival spread measured + 10 ms + underrun bump: the margin the buffer keeps at each arrival */
  private allowance = 10;
  /** read with a clock: the NetEQ-like start, drain and fade apply */
  private clocked = false;
  /** least audio left (samples) when a frame arrived, over the last arrivals while playing */
  private leftMin = Infinity;
  private leftSeen = 0;
  private readonly tail = new Float32Array(TAIL);
  private fadeLeft = 0;
  private fadePos = 0;

  readonly stats: PlayoutStats = {
    received: 0,
    played: 0,
    late: 0,
    duplicate: 0,
    concealed: 0,
    skipped: 0,
    underruns: 0,
    lateInSilence: 0,
    lost: 0,
    overrunDropped: 0,
    flushed: 0,
    drained: 0,
  };

  constructor(options: PlayoutBufferOptions = {}) {
    this.frameSamples = options.frameSamples ?? FRAME_SAMPLES;
    this.sampleRate = options.sampleRate ?? SAMPLE_RATE;
    this.frameMs = (this.frameSamples / this.sampleRate) * 1000;
    this.minTargetMs = options.minTargetMs ?? 60;
    this.maxTargetMs = options.maxTargetMs ?? 200;
    if (!(this.minTargetMs > 0 && this.maxTargetMs >= this.minTargetMs)) {
      throw new RangeError(`jitter target bounds must satisfy 0 < min ≤ max (got ${this.minTargetMs}, ${this.maxTargetMs})`);
    }
    this.maxGapFrames = options.maxGapFrames ?? 3;
    this.overrunMarginMs = options.overrunMarginMs ?? 160;
    this.overrunSpeechMs = Math.max(this.overrunMarginMs, options.overrunSpeechMs ?? 1500);
    this.restartFrames = options.restartFrames ?? 50;
    this.safetyMs = options.safetyMs ?? 4;
    this.underrunBumpMs = options.underrunBumpMs ?? 10;
    this.loneSpikes = options.loneSpikes ?? 1;
    this.delays = new Float64Array(options.windowFrames ?? 50);
    this.target = this.minTargetMs;
  }

  /** Whether frames are being played (false while buffering up to the target). */
  get playing(): boolean {
    return this.playingState;
  }

  /** Stream sample position of the next sample `read` returns: frame index × frameSamples + offset. */
  get position(): number {
    return this.nextIndex < 0 ? 0 : this.nextIndex * this.frameSamples + this.offset;
  }

  /**
   * Stream position where the current run of playback began (frame start), 0 before any. Nothing before it in
   * this run was played: what precedes it is a skipped gap or a flushed remainder, so a clock that subtracts
   * output latency must not read back into it.
   */
  get runStart(): number {
    return this.runStartIndex < 0 ? 0 : this.runStartIndex * this.frameSamples;
  }

  /** Index of the frame at the play position, -1 before any. */
  get index(): number {
    return this.nextIndex;
  }

  get targetMs(): number {
    return this.target;
  }

  /** Audio buffered ahead of the play position, ms (concealed gaps not counted). */
  get bufferedMs(): number {
    return (this.bufferedSamples() / this.sampleRate) * 1000;
  }

  /**
   * Queue frame `index`, arrived at `nowMs` (any monotonic ms clock). The buffer takes ownership of `samples`.
   */
  push(index: number, samples: Float32Array, nowMs: number): PushResult {
    if (!Number.isInteger(index) || index < 0 || samples.length !== this.frameSamples || !Number.isFinite(nowMs)) {
      return 'invalid';
    }
    let result: PushResult = 'queued';
    if (this.nextIndex >= 0 && index < this.nextIndex - this.restartFrames) {
      this.reset(); // the server started a new stream for this NPC
      result = 'restart';
    } else if (this.nextIndex >= 0 && index < this.nextIndex) {
      this.stats.late++;
      return 'late';
    }
    if (this.frames.has(index)) {
      this.stats.duplicate++;
      return 'duplicate';
    }
    this.stats.received++;

    if (this.dryAt !== null) {
      // Playback ran dry waiting for `dryAt`. If that very frame turns up, it was late: an underrun, and the
      // margin grows. If a later frame of the spurt comes first, `dryAt` was lost (the voice channel delivers in
      // order): concealed, and no reason to add delay for everyone after it.
      if (index === this.dryAt && this.drySilent) {
        // Ran dry while playing silence: nothing was cut off, so no bump (the lateness estimate already holds this
        // frame's lateness, and the restart keeps that margin for the speech that may follow).
        this.stats.lateInSilence++;
      } else if (index === this.dryAt) {
        this.stats.underruns++;
        this.bumpMs += this.underrunBumpMs;
      } else if (index > this.dryAt && index <= this.dryAt + this.maxGapFrames) {
        this.stats.lost += index - this.dryAt;
      }
      this.dryAt = null;
    }
    if (this.playingState) {
      this.leftMin = Math.min(this.leftMin, this.bufferedSamples());
      this.leftSeen++;
    }
    this.observeArrival(index, nowMs);
    this.lastArrivalMs = nowMs;
    if (this.clocked && this.playingState && rms(samples) > SILENT_RMS) this.catchUpAtOnset(index);
    this.frames.set(index, samples);
    this.trimOverrun();
    return result;
  }

  /**
   * Speech arrives while only silence is queued ahead of it (the NPC starts to answer): skip the silence beyond the
   * start margin now rather than over the next seconds of drain, so the answer is heard as soon as the jitter
   * allows. Inaudible (silence), and skipped samples are skipped positions, so the clock stays exact.
   */
  private catchUpAtOnset(index: number): void {
    for (const k of this.frames.keys()) if (k > index) return; // not the newest frame: a reordered arrival
    let silent = 0;
    for (let k = this.nextIndex; k < index; k++) {
      const f = this.frames.get(k);
      if (!f || rms(k === this.nextIndex ? f.subarray(this.offset) : f) > SILENT_RMS) return; // a gap, or sound: leave it
      silent += k === this.nextIndex ? this.frameSamples - this.offset : this.frameSamples;
    }
    let skip = Math.floor(silent - (this.startMarginMs() / 1000) * this.sampleRate); // keep the margin's worth
    if (skip <= 0) return;
    this.stats.drained += skip;
    while (skip > 0) {
      const n = Math.min(this.frameSamples - this.offset, skip);
      this.offset += n;
      skip -= n;
      if (this.offset === this.frameSamples) {
        this.frames.delete(this.nextIndex);
        this.nextIndex++;
        this.offset = 0;
      }
    }
    this.leftMin = Infinity;
    this.leftSeen = 0;
  }

  /**
   * Fill `out` with the next samples to play (silence while buffering or after running dry). Returns how many
   * samples came from frames or concealment, i.e. advanced the play position. With `nowMs` (the clock `push`
   * uses), frames short of the target still play once nothing has arrived for a target's worth of time: the
   * end of an utterance must not wait for frames that will not come.
   */
  read(out: Float32Array, nowMs = Number.NaN): number {
    const fs = this.frameSamples;
    if (nowMs === nowMs) this.clocked = true;
    let i = 0;
    while (i < out.length) {
      if (!this.playingState) {
        if (this.frames.size === 0) break;
        let enough: boolean;
        if (this.clocked && nowMs === nowMs) {
          // One frame plus the jitter allowance, counting the time already waited since the last arrival.
          const waited = Math.max(0, nowMs - this.lastArrivalMs);
          enough = this.bufferedMs + waited >= this.frameMs + this.startMarginMs();
        } else {
          enough = this.bufferedSamples() >= (this.target / 1000) * this.sampleRate;
        }
        const streamPaused = nowMs - this.lastArrivalMs >= this.target; // false for NaN
        if (!enough && !streamPaused) break;
        // (Re)start at the oldest buffered frame; the position jumps with it, so it stays on the index scale.
        const first = this.minBufferedIndex();
        if (this.nextIndex >= 0 && first > this.nextIndex) this.stats.skipped += first - this.nextIndex;
        this.nextIndex = first;
        this.runStartIndex = first;
        this.offset = 0;
        this.playingState = true;
        this.fadeLeft = 0;
        this.leftMin = Infinity;
        this.leftSeen = 0;
      }
      if (this.clocked && this.offset === 0) this.drain();
      const frame = this.frames.get(this.nextIndex);
      const n = Math.min(fs - this.offset, out.length - i);
      if (frame) {
        out.set(frame.subarray(this.offset, this.offset + n), i);
      } else {
        if (this.frames.size === 0) {
          // Ran dry at a frame boundary: wait for more, keeping the position where it is.
          this.playingState = false;
          this.dryAt = this.nextIndex;
          this.drySilent = rms(this.tail) <= SILENT_RMS;
          if (this.clocked) this.fadeLeft = FADE;
          break;
        }
        const first = this.minBufferedIndex();
        if (first - this.nextIndex > this.maxGapFrames) {
          this.stats.skipped += first - this.nextIndex;
          this.nextIndex = first;
          this.runStartIndex = first;
          this.offset = 0;
          continue;
        }
        out.fill(0, i, i + n); // a lost frame inside the spurt: silence keeps the index scale aligned
      }
      i += n;
      this.offset += n;
      if (this.offset === fs) {
        if (frame) this.tail.set(frame.subarray(fs - TAIL));
        if (frame) {
          this.frames.delete(this.nextIndex);
          this.stats.played++;
        } else {
          this.stats.concealed++;
        }
        this.nextIndex++;
        this.offset = 0;
      }
    }
    out.fill(0, i);
    if (this.fadeLeft > 0 && i < out.length) this.fadeOut(out, i);
    return i;
  }

  /** Ran dry mid-speech: the last 10 ms again, fading to nothing, instead of a cut (the position does not move). */
  private fadeOut(out: Float32Array, from: number): void {
    for (let k = from; k < out.length && this.fadeLeft > 0; k++, this.fadeLeft--, this.fadePos++) {
      out[k] = this.tail[this.fadePos % TAIL]! * (this.fadeLeft / FADE);
    }
  }

  /** Margin (ms) the buffer keeps beyond one frame when it (re)starts: the jitter allowance, or the target's excess. */
  private startMarginMs(): number {
    // Never more than the target allows: an audio clock that runs slow (a starved page) makes the measured spread
    // grow without bound, and a margin the overrun trim never lets the buffer reach would stop playback.
    return Math.min(Math.max(this.allowance, this.target - this.frameMs), this.maxTargetMs - this.frameMs);
  }

  /**
   * At a frame boundary: if the audio left at every recent arrival stayed above the start margin, skip that much
   * of the frame about to play when it is silent. The position moves with it (skipped samples are skipped
   * positions), so the clock stays exact.
   */
  private drain(): void {
    if (this.leftSeen < DRAIN_AFTER) return;
    const frame = this.frames.get(this.nextIndex);
    const excess = Math.floor(this.leftMin - ((this.startMarginMs() + DRAIN_SLACK_MS) / 1000) * this.sampleRate);
    if (!frame || excess <= 0 || rms(frame) > SILENT_RMS) return;
    const skip = Math.min(excess, this.frameSamples);
    this.stats.drained += skip;
    this.offset = skip;
    if (skip === this.frameSamples) {
      this.frames.delete(this.nextIndex);
      this.nextIndex++;
      this.offset = 0;
    }
    this.leftMin = Infinity;
    this.leftSeen = 0;
  }

  /** Drop everything buffered at once (the NPC was interrupted). Frames older than the play position stay refused. */
  flush(): number {
    const dropped = this.frames.size;
    this.stats.flushed += dropped;
    this.frames.clear();
    if (this.offset > 0) {
      this.nextIndex++;
      this.offset = 0;
    }
    this.playingState = false;
    this.dryAt = null;
    // The arrival-spread estimate stays: dropping speech does not change the network, and a margin measured
    // from one or two frames after every barge-in ran dry on the next late one.
    this.fadeLeft = 0; // the worklet fades what it already had; nothing of the cut-off speech comes back
    return dropped;
  }

  /** Forget the stream entirely (a new stream for this NPC). Statistics are kept. */
  reset(): void {
    this.frames.clear();
    this.playingState = false;
    this.nextIndex = -1;
    this.runStartIndex = -1;
    this.offset = 0;
    this.dryAt = null;
    this.delayCount = 0;
    this.lastPushed = -1;
  }

  private observeArrival(index: number, nowMs: number): void {
    // A jump in indices starts a new talk spurt: its arrival times share no base with the previous one.
    if (this.lastPushed >= 0 && (index > this.lastPushed + this.maxGapFrames + 1 || index < this.lastPushed)) {
      this.delayCount = 0;
    }
    this.lastPushed = index;
    this.delays[this.delayHead] = nowMs - index * this.frameMs;
    this.delayHead = (this.delayHead + 1) % this.delays.length;
    this.delayCount = Math.min(this.delayCount + 1, this.delays.length);
    this.bumpMs = Math.max(0, this.bumpMs - 0.25);

    // The spread is how much later than an earlier arrival of the window a frame came (oldest to newest): what
    // the margin must cover. Frames coming steadily earlier (the server moving its tick onto the player's frames)
    // only add audio ahead of the play position, so unlike max − min it does not count them as jitter.
    let lo = Infinity;
    const top = this.top;
    top.length = 0;
    const keep = this.loneSpikes + 1;
    for (let k = this.delayCount - 1; k >= 0; k--) {
      const d = this.delays[(this.delayHead - 1 - k + this.delays.length) % this.delays.length]!;
      const late = d - lo;
      if (late > 0 && (top.length < keep || late > top[top.length - 1]!)) {
        let j = top.length < keep ? top.length : keep - 1;
        while (j > 0 && top[j - 1]! < late) (top[j] = top[j - 1]!), j--;
        top[j] = late;
      }
      if (d < lo) lo = d;
    }
    // A lone spike (one frame held up by a stall, far later than any other) says little about the next frames; a
    // jittery link shows many values near its largest. Counting the spike would hold every answer in the next
    // 4 s back by it. Left out only once the window is half full, when the rest of the window can be judged.
    let s = 0;
    if (this.delayCount * 2 >= this.delays.length) while (s < this.loneSpikes && s < top.length && top[s]! > LONE_SPIKE_RATIO * (top[s + 1] ?? 0) + LONE_SPIKE_MS) s++;
    const spread = top[s] ?? 0;
    this.allowance = spread + this.safetyMs + this.bumpMs;
    this.target = Math.min(this.maxTargetMs, Math.max(this.minTargetMs, this.allowance));
  }

  private trimOverrun(): void {
    // Frames come whole, so a healthy buffer swings between the target and the target plus one frame.
    const goal = ((this.target + this.frameMs) / 1000) * this.sampleRate;
    const limit = goal + (this.overrunMarginMs / 1000) * this.sampleRate;
    if (this.bufferedSamples() <= limit) return;
    // Past the ceiling for speech the backlog is hopeless (a page stalled for seconds): back to the target at once.
    const hopeless = this.bufferedSamples() > goal + (this.overrunSpeechMs / 1000) * this.sampleRate;
    while (this.frames.size > 1 && this.bufferedSamples() > goal) {
      const oldest = this.minBufferedIndex();
      if (!hopeless && rms(this.frames.get(oldest)!) > SILENT_RMS) break; // words wait for the next silence to drain
      this.frames.delete(oldest);
      this.stats.overrunDropped++;
      const next = this.minBufferedIndex();
      if (this.nextIndex >= 0 && this.nextIndex < next) {
        this.nextIndex = next;
        this.offset = 0;
      }
    }
  }

  private bufferedSamples(): number {
    let n = this.frames.size * this.frameSamples;
    if (this.playingState && this.frames.has(this.nextIndex)) n -= this.offset;
    return n;
  }

  private minBufferedIndex(): number {
    let m = Infinity;
    for (const k of this.frames.keys()) if (k < m) m = k;
    return m;
  }
}
