/**
 * Playback worklet, one per NPC voice: 24 kHz frames → jitter buffer → band-limited resampling to the context
 * rate → mono output (Babylon's spatial graph pans it). Publishes the samples-played clock: through a
 * SharedArrayBuffer every render quantum when one was given, and as port messages in any case.
 */
import { PlayoutBuffer } from '../dsp/playout-buffer.ts';
import { Resampler } from '../../protocol/dsp/resampler.ts';
import {
  CLOCK_BUFFERED_MS,
  CLOCK_CTX_TIME,
  CLOCK_FLUSH_SEQ,
  CLOCK_PLAYING,
  CLOCK_POS,
  CLOCK_RUN_START,
  CLOCK_TARGET_MS,
  CLOCK_UNDERRUNS,
  PLAYBACK_PROCESSOR,
  type PlaybackClockMsg,
  type PlaybackControlMsg,
  type PlaybackProcessorOptions,
} from './messages.ts';
import { scope, type WorkletProcessor } from './scope.ts';

const FADE_MS = 4; // a flush fades out over this long instead of clicking

class PlaybackProcessor extends scope.AudioWorkletProcessor implements WorkletProcessor {
  private readonly jb: PlayoutBuffer;
  private readonly resampler: Resampler;
  private readonly ratio: number; // stream samples per output sample
  private readonly chunk: Float32Array;
  private fifo = new Float32Array(8192);
  private fifoLen = 0;
  private readonly clock: Float64Array | null;
  private readonly reportEvery: number; // quanta
  private quanta = 0;
  private wasPlaying = false;
  private stopped = false;
  /** the last flush done, as numbered by the main thread */
  private flushSeq = 0;
  /** after a flush, until playback starts again: the stream position where the voice stopped */
  private stoppedAt: number | null = null;

  constructor(options: { processorOptions?: unknown }) {
    super();
    const o = (options.processorOptions ?? {}) as Partial<PlaybackProcessorOptions>;
    const streamRate = o.streamRate ?? 24_000;
    this.jb = new PlayoutBuffer({ ...o.jitter, frameSamples: o.frameSamples ?? 1920, sampleRate: streamRate });
    this.resampler = new Resampler(streamRate, scope.sampleRate);
    this.ratio = streamRate / scope.sampleRate;
    this.chunk = new Float32Array(64);
    this.clock = o.clock ? new Float64Array(o.clock) : null;
    this.reportEvery = Math.max(1, Math.round((((o.reportEveryMs ?? 25) / 1000) * scope.sampleRate) / 128));
    this.port.onmessage = (e: MessageEvent<PlaybackControlMsg>) => this.onControl(e.data);
  }

  private onControl(msg: PlaybackControlMsg): void {
    switch (msg?.type) {
      case 'frame':
        if (msg.samples instanceof Float32Array) this.jb.push(msg.i, msg.samples, scope.currentTime * 1000);
        break;
      case 'flush': {
        // Keep a few ms of what was about to play and fade it to zero; drop the rest.
        const keep = Math.min(this.fifoLen, Math.round((FADE_MS / 1000) * scope.sampleRate));
        // The clock stops where the voice does (the fade's end), not at the next frame boundary the buffer
        // parks at (that would claim up to a frame of speech was played that never was).
        this.stoppedAt = this.position(0) + (this.jb.playing ? keep * this.ratio : 0);
        this.jb.flush();
        for (let k = 0; k < keep; k++) this.fifo[k] *= 1 - (k + 1) / keep;
        this.fifoLen = keep;
        this.resampler.reset();
        if (typeof msg.seq === 'number') this.flushSeq = msg.seq;
        this.report(true);
        break;
      }
      case 'reset':
        this.stoppedAt = null;
        this.jb.reset();
        this.fifoLen = 0;
        this.resampler.reset();
        this.report(true);
        break;
      case 'stop':
        this.stopped = true;
        break;
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    if (this.stopped) return false;
    const out = outputs[0]?.[0];
    if (!out) return true;
    while (this.fifoLen < out.length) {
      this.jb.read(this.chunk, scope.currentTime * 1000);
      const y = this.resampler.process(this.chunk);
      if (this.fifoLen + y.length > this.fifo.length) {
        const grown = new Float32Array((this.fifoLen + y.length) * 2);
        grown.set(this.fifo.subarray(0, this.fifoLen));
        this.fifo = grown;
      }
      this.fifo.set(y, this.fifoLen);
      this.fifoLen += y.length;
    }
    out.set(this.fifo.subarray(0, out.length));
    this.fifo.copyWithin(0, out.length, this.fifoLen);
    this.fifoLen -= out.length;
    for (let c = 1; c < (outputs[0]?.length ?? 0); c++) outputs[0][c].set(out);

    this.quanta++;
    const playing = this.jb.playing;
    if (playing) this.stoppedAt = null; // new frames after the flush: the position is theirs
    this.report(playing !== this.wasPlaying || this.quanta % this.reportEvery === 0, out.length);
    this.wasPlaying = playing;
    return true;
  }

  /** Stream position of the first sample of the quantum just rendered (what reaches the output now). */
  private position(rendered: number): number {
    if (this.stoppedAt !== null && !this.jb.playing) return this.stoppedAt;
    const pending = this.fifoLen + this.resampler.delay + rendered; // output samples read from the buffer, not yet heard
    if (!this.jb.playing) return Math.max(0, this.jb.position);
    // just (re)started: the samples ahead of the output are the run's first; nothing before its start was played
    return Math.max(this.jb.runStart, this.jb.position - pending * this.ratio);
  }

  private report(post: boolean, rendered = 0): void {
    const pos = this.position(rendered);
    const ctxTime = scope.currentTime;
    if (this.clock) {
      this.clock[CLOCK_POS] = pos;
      this.clock[CLOCK_CTX_TIME] = ctxTime;
      this.clock[CLOCK_PLAYING] = this.jb.playing ? 1 : 0;
      this.clock[CLOCK_BUFFERED_MS] = this.jb.bufferedMs;
      this.clock[CLOCK_TARGET_MS] = this.jb.targetMs;
      this.clock[CLOCK_UNDERRUNS] = this.jb.stats.underruns;
      this.clock[CLOCK_FLUSH_SEQ] = this.flushSeq;
      this.clock[CLOCK_RUN_START] = this.jb.runStart;
    }
    if (!post) return;
    const s = this.jb.stats;
    const msg: PlaybackClockMsg = {
      type: 'clock',
      pos,
      ctxTime,
      playing: this.jb.playing,
      flushSeq: this.flushSeq,
      runStart: this.jb.runStart,
      bufferedMs: this.jb.bufferedMs,
      targetMs: this.jb.targetMs,
      underruns: s.underruns,
      late: s.late,
      concealed: s.concealed,
      overrunDropped: s.overrunDropped,
    };
    this.port.postMessage(msg);
  }
}

scope.registerProcessor(PLAYBACK_PROCESSOR, PlaybackProcessor);
