/**
 * What the player's voice does just before it goes quiet: pitch contour (final lowering or rise), final
 * lengthening and energy fall-off. Turn-taking uses it to tell a mid-sentence pause from the end of a turn.
 *
 * One tracker per session, fed the same cleaned 24 kHz frames the VAD hears. Every 20 ms hop it measures the
 * level (dB) and, where the hop is loud enough, the fundamental by normalised autocorrelation on a 3:1 decimated
 * (8 kHz) copy. Pitch is kept in semitones relative to the speaker's own running median, so a deep and a high
 * voice give the same contour figures. Cost: about 0.1 ms per 80 ms frame.
 */
import { meanSquare } from '../../../protocol/dsp/level.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../../protocol/frame.ts';

const HOP = 480; // 20 ms at 24 kHz
const HOP_MS = (HOP / SAMPLE_RATE) * 1000;
const DEC = 3; // 24 → 8 kHz
const RATE = SAMPLE_RATE / DEC;
const WIN = 256; // 32 ms at 8 kHz
const MIN_LAG = Math.floor(RATE / 420);
const MAX_LAG = Math.ceil(RATE / 65);
/** hops kept: 4 s, enough for the contour and lengthening before any pause */
const KEEP = 200;
/** voiced f0 values kept for the speaker's median: about 12 s of voicing */
const SPEAKER = 600;
const VOICING = 0.55;
/** a typical speaker's pitch spread (semitones, standard deviation), weighted as this many voiced hops */
const PRIOR_SPREAD = 2.5;
const PRIOR_HOPS = 150;

interface Hop {
  db: number;
  /** semitones above 100 Hz, or NaN when unvoiced */
  st: number;
}

/** Figures about the speech just before the current silence; NaN where there was too little to measure. */
export interface TurnEndCues {
  /** pitch of the last 160 ms of voicing, semitones relative to the speaker's median (negative: final lowering) */
  finalPitch: number;
  /** finalPitch in units of the speaker's own pitch spread (standard deviation), so a flat and a lively voice compare */
  finalPitchZ: number;
  /** pitch slope over the last 400 ms of voicing, semitones per second */
  pitchSlope: number;
  /** last voiced stretch, relative to the median voiced stretch of the recent speech (final lengthening > 1) */
  lengthening: number;
  /** level of the last 100 ms of speech relative to the recent speech's median level, dB */
  energyDrop: number;
  /** ms of speech measured (the cues are weak below about 600 ms) */
  speechMs: number;
}

export class ProsodyTracker {
  private readonly dec = new Float32Array(WIN + MAX_LAG + HOP);
  private decHeld = 0;
  private carry = new Float32Array(HOP);
  private carryHeld = 0;
  private readonly hops: Hop[] = [];
  private readonly speakerSt: number[] = [];
  private speakerMedian = NaN;
  private speakerSpread = NaN;
  private sinceMedian = 0;

  /** Feed one frame (24 kHz, any length; normally 1920 samples). */
  push(frame: Float32Array) {
    let i = 0;
    while (i < frame.length) {
      const take = Math.min(HOP - this.carryHeld, frame.length - i);
      this.carry.set(frame.subarray(i, i + take), this.carryHeld);
      this.carryHeld += take;
      i += take;
      if (this.carryHeld === HOP) {
        this.hop(this.carry);
        this.carryHeld = 0;
      }
    }
  }

  private hop(x: Float32Array) {
    const db = 10 * Math.log10(meanSquare(x) + 1e-10);
    // Decimate by 3 (box filter: enough for pitch) into a sliding buffer.
    const n = HOP / DEC;
    if (this.decHeld + n > this.dec.length) {
      const drop = this.decHeld + n - this.dec.length;
      this.dec.copyWithin(0, drop, this.decHeld);
      this.decHeld -= drop;
    }
    for (let k = 0; k < n; k++) this.dec[this.decHeld + k] = (x[k * 3]! + x[k * 3 + 1]! + x[k * 3 + 2]!) / 3;
    this.decHeld += n;
    const st = db > -50 && this.decHeld >= WIN + MAX_LAG ? this.pitch() : NaN;
    this.hops.push({ db, st });
    if (this.hops.length > KEEP) this.hops.shift();
    if (st === st) {
      this.speakerSt.push(st);
      if (this.speakerSt.length > SPEAKER) this.speakerSt.shift();
      if (++this.sinceMedian >= 25 || this.speakerMedian !== this.speakerMedian) {
        this.sinceMedian = 0;
        this.speakerMedian = median(this.speakerSt);
        const m = mean(this.speakerSt);
        // Until a few seconds of voicing are in, lean on a typical spread: a second of speech says little.
        const n = this.speakerSt.length;
        const sd = Math.sqrt(mean(this.speakerSt.map((v) => (v - m) ** 2)));
        this.speakerSpread = (n * sd + PRIOR_HOPS * PRIOR_SPREAD) / (n + PRIOR_HOPS);
      }
    }
  }

  /** Semitones above 100 Hz of the newest window, or NaN when it is not clearly periodic. */
  private pitch(): number {
    const buf = this.dec;
    const start = this.decHeld - WIN - MAX_LAG;
    let e0 = 0;
    for (let i = 0; i < WIN; i++) e0 += buf[start + i]! ** 2;
    if (e0 <= 1e-9) return NaN;
    let best = 0;
    let bestLag = 0;
    let prev = 0;
    let rising = false;
    // Running energy of the lagged window, so each lag costs one pass.
    let el = 0;
    for (let i = 0; i < WIN; i++) el += buf[start + MIN_LAG + i]! ** 2;
    for (let lag = MIN_LAG; lag <= MAX_LAG; lag++) {
      let c = 0;
      for (let i = 0; i < WIN; i++) c += buf[start + i]! * buf[start + lag + i]!;
      const r = c / Math.sqrt(e0 * el + 1e-12);
      // First clear peak wins over a slightly higher one at a multiple of the period (octave errors).
      if (rising && r < prev && prev > VOICING && prev > best * 1.1) {
        best = prev;
        bestLag = lag - 1;
        if (best > 0.8) break;
      }
      rising = r > prev;
      prev = r;
      el += buf[start + lag + WIN]! ** 2 - buf[start + lag]! ** 2;
    }
    if (best < VOICING || bestLag === 0) return NaN;
    return 12 * Math.log2(RATE / bestLag / 100);
  }

  /**
   * How long the player's voice has been under the speech's own level floor (where cues() ends the speech), ms;
   * Infinity with too little speech to tell.
   */
  quietMs(): number {
    const e = this.speechEnd();
    return e && e.end >= 0 ? (this.hops.length - 1 - e.end) * HOP_MS : Infinity;
  }

  /**
   * The speech's median loud level, its floor, and the last hop at or over the floor (−1: none). The floor is 25 dB
   * under the level, but never within 6 dB of the room's noise (the quietest tenth of the hops kept): a fan or a street
   * as loud as a voice's soft tail would otherwise never let the voice end.
   */
  private speechEnd(): { level: number; floor: number; end: number } | null {
    const hops = this.hops;
    const loud = hops.filter((h) => h.db > -55).map((h) => h.db);
    if (loud.length < 5) return null;
    const level = median(loud);
    const noise = quantile(hops.map((h) => h.db), 0.1);
    const floor = Math.max(level - 25, noise + 6);
    let end = hops.length - 1;
    while (end >= 0 && hops[end]!.db < floor) end--;
    return { level, floor, end };
  }

  /**
   * Cues about the speech that ended `silenceMs` ago (the VAD's silence count; the tracker finds the true end
   * of speech itself, by level). NaN fields mean "not measurable".
   */
  cues(): TurnEndCues {
    const hops = this.hops;
    const none: TurnEndCues = { finalPitch: NaN, finalPitchZ: NaN, pitchSlope: NaN, lengthening: NaN, energyDrop: NaN, speechMs: 0 };
    const e = this.speechEnd();
    if (!e) return none;
    const { level, floor, end } = e;
    if (end < 4) return none;
    let speechHops = 0;
    for (let i = 0; i <= end; i++) if (hops[i]!.db >= floor) speechHops++;

    // Voiced hops before the end, newest last, with their time (hop index).
    const voiced: { t: number; st: number }[] = [];
    for (let i = Math.max(0, end - 40); i <= end; i++) if (hops[i]!.st === hops[i]!.st) voiced.push({ t: i, st: hops[i]!.st });
    const ref = this.speakerMedian;
    let finalPitch = NaN;
    let pitchSlope = NaN;
    if (voiced.length >= 3 && ref === ref) {
      const lastT = voiced.at(-1)!.t;
      const tail = voiced.filter((v) => v.t > lastT - 160 / HOP_MS).map((v) => v.st);
      finalPitch = median(tail) - ref;
      const win = voiced.filter((v) => v.t > lastT - 400 / HOP_MS);
      if (win.length >= 4) pitchSlope = slope(win.map((v) => (v.t * HOP_MS) / 1000), win.map((v) => v.st));
    }

    // Voiced stretches (runs of voiced hops) in the speech kept; the last one against the median one.
    const runs: number[] = [];
    let run = 0;
    for (let i = 0; i <= end; i++) {
      if (hops[i]!.st === hops[i]!.st) run++;
      else if (run) (runs.push(run), (run = 0));
    }
    if (run) runs.push(run);
    const lengthening = runs.length >= 3 ? runs.at(-1)! / Math.max(1, median(runs.slice(0, -1))) : NaN;

    const last = hops.slice(Math.max(0, end - 4), end + 1).map((h) => h.db);
    const energyDrop = mean(last) - level;
    const finalPitchZ = finalPitch / Math.max(0.5, this.speakerSpread);
    return { finalPitch, finalPitchZ, pitchSlope, lengthening, energyDrop, speechMs: speechHops * HOP_MS };
  }
}

/**
 * How likely the speech before this silence ended the turn, 0–1, from its cues: a logistic model fitted on the
 * tuning speakers of bench/turns.bench.ts (espeak-ng and Flite voices: logistic regression over the cues that
 * `ProsodyTracker.cues()` gives at each pause and turn end of their phrases, `npx tsx bench/support/fit-turn-end.ts`)
 * and checked on the held-out speakers (Festival, other Flite and espeak voices). Final lowering, measured in the
 * speaker's own pitch spread, carries most of the weight; a fall over the last syllables, a rise well above the
 * speaker's usual pitch (questions), final lengthening and a fading level add to it.
 */
export function turnEndProbability(c: TurnEndCues, w: TurnEndWeights = TURN_END_WEIGHTS): number {
  if (c.speechMs < 200) return w.prior;
  let z = w.bias;
  if (c.finalPitchZ === c.finalPitchZ) z += w.lowering * Math.max(0, -c.finalPitchZ) + w.rise * Math.max(0, c.finalPitchZ - w.riseFrom);
  if (c.pitchSlope === c.pitchSlope) z += w.fall * Math.max(0, -c.pitchSlope) + w.riseSlope * Math.max(0, c.pitchSlope - w.riseSlopeFrom);
  if (c.lengthening === c.lengthening) z += w.lengthening * Math.min(3, Math.max(0, c.lengthening - 1));
  if (c.energyDrop === c.energyDrop) z += w.energy * Math.max(0, -c.energyDrop);
  return 1 / (1 + Math.exp(-z));
}

export interface TurnEndWeights {
  /** probability when there was too little speech to measure */
  prior: number;
  bias: number;
  /** per unit of final lowering (speaker spreads below the speaker's median) */
  lowering: number;
  /** per unit of final rise beyond riseFrom spreads above the median */
  rise: number;
  riseFrom: number;
  /** per semitone/s of fall over the last 400 ms */
  fall: number;
  /** per semitone/s of rise beyond riseSlopeFrom */
  riseSlope: number;
  riseSlopeFrom: number;
  /** per unit of lengthening beyond 1 (capped at 3) */
  lengthening: number;
  /** per dB the last 100 ms sit under the speech's median level */
  energy: number;
}

export const TURN_END_WEIGHTS: TurnEndWeights = {
  prior: 0.5,
  bias: -1.31,
  lowering: 1.76,
  rise: 0.25,
  riseFrom: 1,
  fall: 0.018,
  riseSlope: 0.051,
  riseSlopeFrom: 20,
  lengthening: 0.21,
  energy: 0.0096,
};

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function slope(x: number[], y: number[]): number {
  const mx = mean(x);
  const my = mean(y);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i]! - mx) * (y[i]! - my);
    den += (x[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : NaN;
}

export const PROSODY_HOP_MS = HOP_MS;
export const PROSODY_FRAME_HOPS = FRAME_SAMPLES / HOP;
