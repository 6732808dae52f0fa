/**
 * Drives one character's mouth from one NPC voice stream. Each render frame it reads the voice's samples-played
 * clock (never the wall clock: the mouth follows what is audible, through jitter, underruns and device latency),
 * looks up the coarticulated viseme weights at that position, smooths them with attack/release, and hands them to
 * the rig. Where the stream has no words (a laugh, a breath) the jaw follows the voice's level instead.
 */
import type { VisemeTrack } from '../../protocol/visemes.ts';
import { DEFAULT_COARTICULATION, visemeWeightsAt, type CoarticulationOptions } from './coarticulation.ts';
import type { LipSyncRig } from './rigs.ts';
import { EachFrame, type SceneLike } from './each-frame.ts';
import { VisemeSchedule } from './schedule.ts';

/** The samples-played clock of an NPC voice (plugin NpcVoiceStream has it). */
export interface VoiceClock {
  /** stream sample now audible, on the server's frame-index scale (frame × 1920 + offset) */
  readonly streamPosition: number;
  /** false while nothing plays; optional */
  readonly playing?: boolean;
}

/** The voice's loudness now, 0..1 RMS (e.g. from the playback worklet or a Babylon sound analyzer). */
export type LevelSource = () => number;

export interface AmplitudeJawOptions {
  /** RMS below this is silence (default 0.01) */
  floor: number;
  /** RMS at which the jaw is fully open (default 0.2) */
  full: number;
  /** opening at full level, as an `aa` weight (default 0.7) */
  gain: number;
  /** a word key closer than this to the playhead means words are driving the mouth, ms (default 250) */
  wordGuardMs: number;
}

export interface LipSyncDriverOptions {
  clock: VoiceClock;
  rig: LipSyncRig;
  level?: LevelSource;
  /** time constants of the shape smoothing, ms (defaults 30 and 70) */
  attackMs?: number;
  releaseMs?: number;
  /** overall strength of the mouth shapes, 0..1 (default 1) */
  strength?: number;
  coarticulation?: Partial<CoarticulationOptions>;
  /** amplitude-driven jaw where there are no words; false turns it off */
  amplitude?: Partial<AmplitudeJawOptions> | false;
  /** when the clock has not moved for this long, ms of render time, the mouth rests (default 200) */
  stallMs?: number;
  /**
   * With a level source: when the voice has been quieter than `floor` RMS for `ms`, the mouth rests even if
   * word keys remain (a word's last phonemes are estimated and can outlast its audio). false turns it off.
   */
  silenceGate?: { floor: number; ms: number } | false;
}

export type { SceneLike } from './each-frame.ts';

const N = 15;
const SIL = 0;
const AA = 10;
const SAMPLES_PER_MS = 24;
/** keys this far behind the playhead are forgotten */
const KEEP_BEHIND = 2 * 24_000;

export class LipSyncDriver {
  readonly schedule = new VisemeSchedule();
  /** the weights shown now (after smoothing), index = viseme id */
  readonly weights = new Float32Array(N);
  /** the weights the schedule asks for now (before smoothing) */
  readonly target = new Float32Array(N);
  private readonly clock: VoiceClock;
  private readonly rig: LipSyncRig;
  private readonly level: LevelSource | undefined;
  private readonly attackMs: number;
  private readonly releaseMs: number;
  private readonly strength: number;
  private readonly co: CoarticulationOptions;
  private readonly amp: AmplitudeJawOptions | undefined;
  private readonly stallMs: number;
  private readonly gate: { floor: number; ms: number } | undefined;
  private lastPosition = Number.NaN;
  private stalledFor = 0;
  private quietFor = 0;
  private readonly frames = new EachFrame((dt) => this.update(dt));

  constructor(opts: LipSyncDriverOptions) {
    if (!opts?.clock || !opts.rig) throw new TypeError('LipSyncDriver needs { clock, rig }');
    this.clock = opts.clock;
    this.rig = opts.rig;
    this.level = opts.level;
    this.attackMs = Math.max(0, opts.attackMs ?? 30);
    this.releaseMs = Math.max(0, opts.releaseMs ?? 70);
    this.strength = Math.min(1, Math.max(0, opts.strength ?? 1));
    this.co = { ...DEFAULT_COARTICULATION, ...opts.coarticulation };
    this.amp = opts.amplitude === false ? undefined : { floor: 0.01, full: 0.2, gain: 0.7, wordGuardMs: 250, ...opts.amplitude };
    this.stallMs = opts.stallMs ?? 200;
    this.gate = opts.silenceGate === false ? undefined : { floor: 0.004, ms: 150, ...opts.silenceGate };
    this.weights[SIL] = 1;
  }

  /** A viseme track received with an NPC voice frame. */
  applyTrack(track: VisemeTrack): void {
    this.schedule.apply(track);
  }

  /** The NPC was interrupted: drop every key not yet heard (default: from the current playhead). */
  flush(atSample: number = this.clock.streamPosition): void {
    this.schedule.flush(Number.isFinite(atSample) ? atSample : 0);
  }

  /** One render frame: `deltaMs` is the render frame's duration, used only for smoothing and stall detection. */
  update(deltaMs: number): void {
    const dt = Number.isFinite(deltaMs) && deltaMs > 0 ? Math.min(deltaMs, 250) : 0;
    const pos = this.clock.streamPosition;
    if (pos === this.lastPosition) this.stalledFor += dt;
    else this.stalledFor = 0;
    this.lastPosition = pos;
    if (this.gate && this.level) {
      const rms = this.level();
      this.quietFor = Number.isFinite(rms) && rms < this.gate.floor ? this.quietFor + dt : 0;
    }
    const silent = this.gate !== undefined && this.level !== undefined && this.quietFor >= this.gate.ms;
    const resting = !Number.isFinite(pos) || this.clock.playing === false || this.stalledFor >= this.stallMs || silent;

    const target = this.target;
    if (resting) {
      target.fill(0);
      target[SIL] = 1;
    } else {
      visemeWeightsAt(this.schedule.keys, pos, target, this.co);
      this.amplitudeJaw(pos, target);
      this.schedule.prune(pos - KEEP_BEHIND);
    }
    if (this.strength < 1) {
      for (let v = 1; v < N; v++) target[v] *= this.strength;
    }

    // exponential approach: a shape forms with the attack constant and fades with the release constant
    const up = this.attackMs > 0 ? 1 - Math.exp(-dt / this.attackMs) : 1;
    const down = this.releaseMs > 0 ? 1 - Math.exp(-dt / this.releaseMs) : 1;
    for (let v = 0; v < N; v++) {
      const d = target[v] - this.weights[v];
      this.weights[v] += d * (d > 0 ? up : down);
    }
    this.rig.apply(this.weights);
  }

  /** Run `update` before every render of `scene`. */
  attach(scene: SceneLike): this {
    this.frames.attach(scene);
    return this;
  }

  detach(): void {
    this.frames.detach();
  }

  /** Stop driving and put the mouth back at rest. */
  dispose(): void {
    this.detach();
    this.schedule.clear();
    this.rig.reset();
  }

  private amplitudeJaw(pos: number, target: Float32Array): void {
    if (!this.amp || !this.level || target[SIL] < 0.95) return;
    const keys = this.schedule.keys;
    const guard = this.amp.wordGuardMs * SAMPLES_PER_MS;
    const i = this.schedule.indexAfter(pos + guard) - 1;
    // a word key near the playhead: the words own the mouth, even in their short rests
    for (let j = i; j >= 0 && keys[j].at >= pos - guard; j--) if (keys[j].v !== SIL) return;
    const rms = this.level();
    if (!Number.isFinite(rms) || rms <= this.amp.floor) return;
    const open = Math.min(1, (rms - this.amp.floor) / Math.max(1e-6, this.amp.full - this.amp.floor)) * this.amp.gain;
    target[AA] += open;
    target[SIL] = Math.max(0, target[SIL] - open);
  }
}
