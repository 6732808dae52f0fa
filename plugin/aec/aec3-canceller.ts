/**
 * The capture path's echo canceller: WebRTC's AEC3 (webrtc-aec3.ts) on one sample clock shared by the reference
 * (what the audio engine played) and the microphone. AEC3 finds the bulk delay itself (its matched filters span
 * well over the 20–250 ms of a desk-speaker path plus output and input latency), so there is no delay estimator
 * in front of it: the reference of mic sample n is simply reference sample n, and AEC3 looks back from there.
 *
 * Why AEC3 and not speexdsp (which the server's echo gate still uses: echo-canceller.ts): on the simulated rooms of
 * bench echo, AEC3 holds ≥ 25 dB in every room once settled (speex: 21 of 27, missing the RT60 0.8 s rooms and
 * the clipping loudspeaker), settles sooner, and delays the uplink by about 9 ms instead of speex's 40 ms. It costs
 * about 4× speex's CPU (≈ 0.5 ms per 10 ms block), which is why the worklet runs it block by block as the mic
 * arrives instead of a whole 80 ms frame in one render quantum.
 */
import { sumOfSquares } from '../../protocol/dsp/level.ts';
import { Aec3Relearn, type Aec3RelearnOptions } from './aec3-relearn.ts';
import { ErleMeter, FAR_SILENT_MEAN_SQUARE } from './erle-meter.ts';
import { ReferenceRing } from './reference-ring.ts';
import { WebrtcAec3, type Aec3Config, type Aec3Wasm } from './webrtc-aec3.ts';

export interface Aec3CancellerOptions {
  sampleRate?: number;
  /**
   * AEC3 config knobs (webrtc-aec3.ts). Default: AEC3's own. Settings that converge sooner on the simulated rooms
   * (a longer reverb model, a harder suppressor) all held a player talking over the NPC down by 20–30 dB at their
   * onset, which a barge-in cannot afford (docs/plugin.md, Echo).
   */
  config?: Aec3Config;
  /** longest reference history kept for a mic that lags behind (ms); AEC3's own delay reach is shorter */
  historyMs?: number;
  /**
   * While AEC3 learns the room (its first `learnS` seconds of far-end activity, default 3; once per player, since
   * the capture worklet and its canceller live as long as the mic), a
   * block whose mic is not clearly louder than the reference that can be echoing in it (≤ +3 dB over the loudest
   * reference block of the last `learnWindowMs`) carries no talker above the echo and is attenuated by `learnDb`.
   * Only once AEC3 has found an echo (its delay estimate moved): with none there is nothing to learn. 0 turns this off.
   */
  learnS?: number;
  learnDb?: number;
  learnWindowMs?: number;
  /**
   * A second AEC3 taught the first seconds of far-end activity again, several times over, that takes over once it
   * has caught up (aec3-relearn.ts): the echo is gone about 2 s into the NPC's first words instead of 4. The
   * learning guard ends when it takes over. `false` turns it off.
   */
  relearn?: Aec3RelearnOptions | false;
  /**
   * Trainer blocks run per live block inside `process` (default 6.5: what the capture worklet affords at 48 kHz,
   * two blocks in each render quantum without a live block and one in each with). 0: the caller paces it with `train`.
   */
  relearnPace?: number;
}

/**
 * AEC3's defaults but two.
 * - Until it has measured the echo path, AEC3 assumes one as loud as the reference (`ep_strength.default_gain` 1)
 *   and suppresses for it. With little or no echo (a well-isolated mic, the e2e test's fake mic) that held a player
 *   talking over the NPC 12–43 dB down for the first 6 s; assuming −20 dB keeps them within 1–13 dB. Where there is
 *   echo, AEC3 measures it within about half a second.
 * - The residual suppressor's model of the room's reverberation is estimated from the linear filter (a negative
 *   `ep_strength.default_len`: adaptive, starting from a long 0.95 decay per 4 ms block) instead of fixed at 0.83,
 *   which left the rooms with RT60 0.8 s dipping under 25 dB now and then for good. A fixed 0.9–0.95 did as well on
 *   the rooms but, in a loud room, held a player cutting in over the NPC down for about a second in 2 of 20 trials.
 */
export const DEFAULT_AEC3_CONFIG: Aec3Config = { 'ep_strength.default_gain': 0.1, 'ep_strength.default_len': -0.95 };

export interface Aec3CancellerStats {
  /** echo return loss enhancement over the last ~second of far-end activity, dB (NaN before any) */
  erleDb: number;
  /** AEC3's delay estimate between reference and echo, ms (NaN while unknown) */
  delayMs: number;
  /** mean squares of the last process() call's mic, output and reference, to measure ERLE exactly */
  last: { mic: number; out: number; ref: number };
}

export class Aec3Canceller {
  readonly rate: number;
  /** samples per AEC3 block (10 ms): process() takes whole blocks */
  readonly block: number;
  private aec: WebrtcAec3;
  private relearn: Aec3Relearn | null = null;
  private readonly relearnPace: number;
  private relearnCredit = 0;
  /** the trained AEC3, to take over at the next block */
  private trained: WebrtcAec3 | null = null;
  /** the trained AEC3's output of the block it takes over on, crossfaded with the old one's */
  private readonly fadeBlock: Float32Array;
  private readonly reference: ReferenceRing;
  private micAt = 0; // absolute index of the next mic sample
  private readonly refBlock: Float32Array;
  private readonly erle: ErleMeter;
  private learnLeft: number; // far-end blocks still in the learning phase
  private readonly learnGain: number;
  /** reference power of the last blocks (a ring), for the learning guard */
  private readonly refPowers: Float32Array;
  private refPowerAt = 0;
  /** AEC3's first delay estimate (a default it reports before finding one), and whether it has moved off it */
  private firstDelayMs = NaN;
  private delayFound = false;
  readonly stats: Aec3CancellerStats = { erleDb: NaN, delayMs: NaN, last: { mic: 0, out: 0, ref: 0 } };

  constructor(wasm: Aec3Wasm, options: Aec3CancellerOptions = {}) {
    this.rate = options.sampleRate ?? 24_000;
    const make = () => new WebrtcAec3(wasm, { sampleRate: this.rate, config: { ...DEFAULT_AEC3_CONFIG, ...options.config } });
    this.aec = make();
    this.block = this.aec.blockSize;
    if (options.relearn !== false) this.relearn = new Aec3Relearn(make(), options.relearn ?? {});
    this.relearnPace = options.relearnPace ?? 6.5;
    this.fadeBlock = new Float32Array(this.block);
    const history = Math.round(((options.historyMs ?? 500) / 1000) * this.rate);
    this.reference = new ReferenceRing(history + 16 * this.block);
    this.refBlock = new Float32Array(this.block);
    this.erle = new ErleMeter(this.block, this.rate);
    this.stats.last = this.erle.last; // the meter keeps the last call's mean squares
    this.learnLeft = Math.round(((options.learnS ?? 3) * this.rate) / this.block);
    this.learnGain = 10 ** ((options.learnDb ?? -40) / 20);
    this.refPowers = new Float32Array(Math.max(1, Math.ceil(((options.learnWindowMs ?? 600) / 1000) * this.rate / this.block)));
  }

  /** What the speakers played, continuing the reference stream (same clock as the mic). */
  pushReference(x: Float32Array): void {
    this.reference.push(x);
  }

  /**
   * Cancel the echo from `mic` (whole blocks), writing into `out` (may be `mic`). The mic's first sample follows
   * the previous call's last and shares the reference's clock; reference time not yet pushed counts as silence.
   */
  process(mic: Float32Array, out: Float32Array = mic): Float32Array {
    if (mic.length % this.block !== 0) throw new Error(`Aec3Canceller: ${mic.length} samples is not a multiple of ${this.block}`);
    this.erle.startCall();
    const ref = this.refBlock;
    for (let b = 0; b < mic.length; b += this.block) {
      const pr = this.reference.read(this.micAt, ref);
      const m = mic.subarray(b, b + this.block);
      const pm = sumOfSquares(m);
      const o = out.subarray(b, b + this.block);
      if (this.relearnPace > 0 && this.relearn?.active) {
        this.relearnCredit += this.relearnPace;
        const n = Math.floor(this.relearnCredit);
        this.relearnCredit -= n;
        this.train(n);
      }
      const farActive = pr / this.block > FAR_SILENT_MEAN_SQUARE;
      if (this.trained) this.handOver(ref, m, o);
      else {
        if (this.relearn) {
          this.relearn.record(ref, m, farActive);
          if (!this.relearn.active) this.relearn = null; // given up: its recording filled before it caught up
        }
        this.aec.analyzeRender(ref);
        this.aec.processCapture(m, o);
      }
      this.guard(pm, pr, o);
      const po = sumOfSquares(o);
      this.erle.addBlock(pm, po, pr);
      this.micAt += this.block;
    }
    this.erle.endCall(mic.length);
    this.stats.erleDb = this.erle.db;
    const d = this.aec.metrics().delayMs;
    if (Number.isNaN(this.firstDelayMs)) this.firstDelayMs = d;
    else if (d !== this.firstDelayMs) this.delayFound = true;
    this.stats.delayMs = this.delayFound && d > 0 ? d : NaN;
    return out;
  }

  /**
   * The learning guard. The echo in this block comes from the reference played up to `learnWindowMs` ago (the
   * delay and the room's reverberant tail), at up to the reference's own level (a 0 dB room), so the loudest of
   * those blocks is what the mic must clearly beat. (Comparing with the blocks around AEC3's delay estimate only
   * let the reverberant build-up of a loud room through: a false barge-in 2–3 s in.)
   */
  private guard(pm: number, pr: number, o: Float32Array): void {
    const ring = this.refPowers;
    const n = ring.length;
    ring[this.refPowerAt] = pr;
    const now = this.refPowerAt;
    this.refPowerAt = (this.refPowerAt + 1) % n;
    // Only once AEC3 has found an echo: with none (headphones in all but name, a well-isolated mic) there is
    // nothing to learn, and a guard would hold a player quieter than the NPC's voice down for its whole 3 s.
    if (this.learnLeft <= 0 || !this.delayFound) return;
    let loudest = 0;
    for (let k = 0; k < n; k++) loudest = Math.max(loudest, ring[(now - k + n) % n]!);
    if (loudest / this.block <= FAR_SILENT_MEAN_SQUARE) return; // nothing played lately: nothing to learn, nothing to hold down
    this.learnLeft--;
    if (pm <= 2 * loudest) for (let i = 0; i < o.length; i++) o[i]! *= this.learnGain;
  }

  /**
   * Run up to `budget` blocks of the relearning AEC3 (the capture worklet calls this once per render quantum, with
   * `relearnPace` 0, so no quantum does more than a couple of AEC3 blocks). It takes over at the next block.
   */
  train(budget: number): void {
    if (!this.relearn || this.trained || budget <= 0) return;
    this.trained = this.relearn.step(budget);
    if (!this.relearn.active) this.relearn = null;
  }

  /** Whether the relearning AEC3 is still at work (it has not taken over, nor been given up). */
  get relearning(): boolean {
    return this.relearn !== null || this.trained !== null;
  }

  /**
   * The trained AEC3 takes over on this block: it has taken every block before it. Both cancel this one and their
   * outputs are crossfaded, so the switch is not heard; the learning guard ends with the learning.
   */
  private handOver(ref: Float32Array, m: Float32Array, o: Float32Array): void {
    const next = this.trained!;
    this.trained = null;
    const f = this.fadeBlock;
    next.analyzeRender(ref);
    next.processCapture(m, f); // before the old one: `o` may be `m`
    this.aec.analyzeRender(ref);
    this.aec.processCapture(m, o);
    const n = o.length;
    for (let i = 0; i < n; i++) o[i] = o[i]! + ((i + 1) / n) * (f[i]! - o[i]!);
    this.aec.dispose();
    this.aec = next;
    this.learnLeft = 0;
  }

  /** Advance the mic clock past samples that were never processed (keeps reference and mic together). */
  skip(samples: number): void {
    if (samples > 0) this.micAt += Math.floor(samples);
  }

  dispose(): void {
    this.aec.dispose();
    this.relearn?.dispose();
    this.trained?.dispose();
    this.relearn = this.trained = null;
  }
}
