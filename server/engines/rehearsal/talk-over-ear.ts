/**
 * What a short voice over the NPC said: a listener's backchannel ("yeah", "okay", "uh huh", "I see") or anything
 * else ("stop", "wait", "hold on", "sorry to interrupt,"). Their lengths overlap (0.2–0.8 s of voice either way),
 * so turn-taking cannot tell them apart by the clock; the words can. While the NPC is paused for a voice
 * (turn-taking's hesitation), the voice is decoded frame by frame against a small grammar: a backchannel phrase,
 * "aha" (an open-vowel "uh-huh", a backchannel only where its /h/ is breath), an interruption opener, or a loop
 * over single phones (the same "garbage" path the topic recogniser uses to reject out-of-topic speech).
 * At the moment the NPC would carry on, the verdict says whether it should: a backchannel resumes the line,
 * anything else ends it as a barge-in would. No verdict (no free decoder, recognition off) keeps the old rule.
 *
 * A few decoders of their own hold this grammar from the engine's start (TalkOverDecoders); a paused session takes
 * one for the pause (a second at most), the one it had last if that is free, and gives it back. Cost: about 110 ms
 * of CPU per second of voice, its pre-roll and trailing quiet included (bench talk-over), only while paused.
 */
import type { Decoder } from 'soundswallower';
import { Resampler } from '../../../protocol/dsp/resampler.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../../protocol/frame.ts';
import { levelGain, PHONE_LOOP, RECOGNISER_RATE, type TopicRecognizer } from './recognizer.ts';
import { isVoicelessGap } from './voiceless-gap.ts';

/**
 * What a listener says to keep a speaker going (phrases of the recogniser's dictionary words). Not "mhm" or "hmm":
 * a "hang on" decoded as "mhm" in two voices. Not "aha" (AA HH AA): see OPEN_UH_HUH.
 */
export const BACKCHANNEL_PHRASES = [
  'yeah', 'yes', 'yep', 'yup', 'okay', 'ok', 'right', 'uh-huh', 'uh huh', 'i see', 'sure', 'alright',
  'got it', 'oh okay', 'oh right', 'oh yeah', 'oh i see', 'yeah yeah', 'okay okay', 'right right', 'yes yes',
];

/**
 * Other pronunciations of backchannels, as people say them in passing (and as the dictionary's one form missed them
 * on synthetic voices): "yeah" as /jɛ/ or /jə/, "okay" with a reduced first vowel, "right" without its stop or with
 * an r-coloured onset, and "uh huh" as any central or open vowel, /h/, vowel (/ʌhʌ/, /ɜhɜ/, /ɔhɔ/; not /ɑhɑ/, above): the one
 * dictionary form (AH HH AH) heard 2 of 11 voices' "uh huh". Each of these needs its /h/: a lone vowel let "no",
 * "nope" and "go back" through. Left out on purpose, each measured to turn a real interruption into a backchannel:
 * "okay" as K EY ("hey"), "yeah" as Y UW or Y IY ("excuse me", "who?", "seriously?").
 */
export const BACKCHANNEL_PRONUNCIATIONS: [string, string][] = [
  ['yeah(2)', 'Y EH'], ['yeah(3)', 'Y AH'], ['yeah(4)', 'Y EH AH'],
  ['okay(2)', 'AH K EY'], ['okay(3)', 'OW K EY IY'],
  ['right(2)', 'R AY'], ['right(3)', 'ER AY'],
  ['yep(2)', 'Y EH'], ['yep(3)', 'Y AH P'], ['see(2)', 'SH IY'],
  ['uh-huh(2)', 'ER HH ER'], ['uh-huh(3)', 'AH HH ER'], ['uh-huh(4)', 'AO HH AO'], ['uh-huh(5)', 'AA HH ER'],
];

/**
 * How a short interruption opens: in the grammar so that a cut competes with the backchannels as the words it is,
 * not only with the phone loop. Without this branch the looser backchannel forms above took "no" and "hey" for
 * "uh huh" and "okay"; with it, 0 of 165 interruptions of the talk-over bench were, and 2 of 330 it never saw
 * (bench talk-over, held-out cuts: none of their words is here).
 */
export const INTERRUPTION_PHRASES = [
  'stop', 'wait', 'no', 'hey', 'hold on', 'hang on', 'hold it', 'listen', 'what', 'excuse me', 'sorry', 'pardon',
  'one second', 'one sec', 'actually', 'enough', 'go back', 'quiet',
];

/**
 * The open-vowel "uh-huh" of some voices decodes as "aha" (AA HH AA), and so did the tests' voice's lone "Hold on."
 * (its /l d/ heard as the /h/). So "aha" is a branch of its own, at the phone loop's prior, and is a backchannel only
 * where the stretch aligned to its /h/ is voiceless breath (voiceless-gap.ts); a voiced middle ends the line.
 */
export const OPEN_UH_HUH = 'aha';

/**
 * How much more likely the grammar makes the backchannel branch than the other two. A token the acoustic scores
 * leave near the edge between a backchannel and its own phones (flite kal16's slow "uh huh" as AH) went either way
 * from run to run through the server; ×10 gives such ties to the backchannel. On the talk-over bench's voices it
 * heard one more of 66 tokens and took no more interruptions (0 of 165, the same 3 of 198 held-out); ×1000 took
 * known and held-out interruptions (stop 31).
 */
export const BACKCHANNEL_WEIGHT = 10;

/**
 * The decoding grammar: one backchannel phrase, one interruption opener, or the phone loop for
 * anything else. Whole phrases, not free word sequences: with single words free to combine, "hold on" decoded as
 * "oh got" and "sorry to" as "true".
 */
export const BACKCHANNEL_GRAMMAR = [
  '#JSGF V1.0;',
  'grammar backchannel;',
  `public <heard> = /${BACKCHANNEL_WEIGHT}/ <bc> | /1/ ${OPEN_UH_HUH} | /1/ <cut> | /1/ <garbage>;`,
  `<bc> = ${BACKCHANNEL_PHRASES.join(' | ')};`,
  `<cut> = ${INTERRUPTION_PHRASES.join(' | ')};`,
  `<garbage> = ${PHONE_LOOP};`,
  '',
].join('\n');

export type TalkOverVerdict = 'backchannel' | 'other' | 'unknown';

/** frames kept from before the pause: the VAD confirms a voice a frame or two after it starts */
const PRE_ROLL_FRAMES = 3;
/** longest stretch decoded: past it the voice was long enough to be a barge-in anyway */
const MAX_FRAMES = 20;
/** frames of the voice heard before its level is measured */
const GAIN_AFTER_FRAMES = 3;

/**
 * The decoders the ears of one engine (worker) share, kept apart from the topic decoders' pool so a topic turn
 * never takes one. A session holds one for a pause (a second at most); when all are held, a voice gets no verdict.
 */
export class TalkOverDecoders {
  private readonly free: Decoder[];
  /** voices that found no decoder free */
  missed = 0;

  private constructor(private readonly all: Decoder[]) {
    this.free = [...all];
  }

  /** `count` decoders from the recogniser, each on the backchannel grammar (engine start only: 0.35 s or more each). */
  static async create(recognizer: TopicRecognizer, count: number): Promise<TalkOverDecoders> {
    const all: Decoder[] = [];
    for (let i = 0; i < count; i++) all.push(await recognizer.ownDecoder(BACKCHANNEL_GRAMMAR, BACKCHANNEL_PRONUNCIATIONS));
    return new TalkOverDecoders(all);
  }

  /**
   * A free decoder: `preferred` when it is free. PocketSphinx carries its cepstral mean over from one voice to the
   * next, so the decoder that last heard this session's player is the one already adapted to that voice.
   */
  acquire(preferred?: Decoder): Decoder | undefined {
    const at = preferred ? this.free.indexOf(preferred) : -1;
    const d = at >= 0 ? this.free.splice(at, 1)[0] : this.free.pop();
    if (!d) this.missed++;
    return d;
  }

  release(d: Decoder) {
    if (this.all.includes(d) && !this.free.includes(d)) this.free.push(d);
  }

  /** A decoder that failed is not used again. */
  discard(d: Decoder) {
    const i = this.all.indexOf(d);
    if (i >= 0) this.all.splice(i, 1);
    try {
      d.delete();
    } catch {
      // already unusable
    }
  }

  dispose() {
    for (const d of this.all) d.delete();
    this.all.length = 0;
    this.free.length = 0;
  }
}

/** One session's ear for voices over its NPC. */
export class TalkOverEar {
  /** the last frames of the hearing mix (24 kHz), kept in place every frame: a ring, no allocation */
  private readonly preRoll = Array.from({ length: PRE_ROLL_FRAMES }, () => new Float32Array(FRAME_SAMPLES));
  private preRollNext = 0;
  /** this voice so far (16 kHz, the pre-roll first), not yet decoded */
  private pending: Float32Array[] = [];
  /** what the decoder heard of this voice, as it heard it (level corrected): the /h/ of an "aha" is measured here */
  private decoded: Float32Array[] = [];
  private resampler: Resampler | undefined;
  private decoder: Decoder | undefined;
  /** the decoder this ear had last: asked for first next time */
  private lastDecoder: Decoder | undefined;
  /** level correction for this voice; undefined until enough of it was heard to measure */
  private gain: number | undefined;
  private frames = 0;
  private failed = false;
  /** words decoded when the verdict was taken (for logs and tests) */
  heard = '';

  constructor(private readonly decoders: TalkOverDecoders | undefined) {}

  /** Every frame of the hearing mix (24 kHz), after the VAD heard it; decoded only while listening. */
  push(frame: Float32Array) {
    if (!this.decoders) return;
    if (!this.decoder) {
      this.preRoll[this.preRollNext]!.set(frame.subarray(0, FRAME_SAMPLES));
      this.preRollNext = (this.preRollNext + 1) % PRE_ROLL_FRAMES;
      return;
    }
    if (this.frames >= MAX_FRAMES) return;
    this.frames++;
    this.pending.push(this.resampler!.process(frame).slice());
    // The level is measured once the voice has reached its vowel: its first frames are its quiet onset, and a gain
    // set from them overdrove the rest (clipped tokens decoded as phones). Then two frames a step until caught up.
    if (this.gain === undefined && this.pending.length >= PRE_ROLL_FRAMES + GAIN_AFTER_FRAMES) this.setGain();
    if (this.gain !== undefined) this.decodePending(2);
  }

  /** The NPC paused for a voice: start listening to it (with the frames before the pause). */
  listen() {
    this.stop();
    this.heard = '';
    this.decoded = [];
    if (!this.decoders || this.failed) return;
    const p = this.decoders.acquire(this.lastDecoder);
    if (!p) return;
    this.lastDecoder = p;
    try {
      p.start();
    } catch {
      this.fail(p);
      return;
    }
    this.decoder = p;
    this.resampler = new Resampler(SAMPLE_RATE, RECOGNISER_RATE);
    this.frames = 0;
    this.gain = undefined;
    // oldest first; the ring's frames are kept for the next pause, so they are resampled into copies here
    for (let k = 0; k < PRE_ROLL_FRAMES; k++) this.pending.push(this.resampler.process(this.preRoll[(this.preRollNext + k) % PRE_ROLL_FRAMES]!).slice());
  }

  /** Whether what was heard since `listen` was a backchannel; ends the listening. */
  verdict(): TalkOverVerdict {
    const p = this.decoder;
    if (!p) return 'unknown';
    if (this.gain === undefined) this.setGain();
    this.decodePending(Infinity);
    if (!this.decoder) return 'unknown'; // failed while decoding
    let text = '';
    try {
      p.stop();
      text = p.get_text().trim();
    } catch {
      this.fail(p);
      return 'unknown';
    }
    const words = text.split(/\s+/).filter(Boolean).join(' ');
    const breathed = words === OPEN_UH_HUH && this.breathyH(p);
    this.decoders!.release(p);
    this.decoder = undefined;
    this.decoded = [];
    this.heard = text;
    return BACKCHANNEL_PHRASES.includes(words) || breathed ? 'backchannel' : 'other';
  }

  /** Whether the /h/ the decoder aligned in its "aha" was voiceless breath (an "uh-huh"), not a voiced consonant. */
  private breathyH(p: Decoder): boolean {
    try {
      const word = p.get_alignment({ align_level: 1 }).w?.find((w) => w.t === OPEN_UH_HUH);
      const h = word?.w?.find((ph) => ph.t === 'HH');
      if (!h) return false;
      return isVoicelessGap(joined(this.decoded), Math.round(h.b * RECOGNISER_RATE), Math.round((h.b + h.d) * RECOGNISER_RATE), RECOGNISER_RATE);
    } catch {
      return false; // no alignment: not a backchannel, as any other doubt
    }
  }

  /** Stop listening without a verdict (the NPC gave the line up, or the session closes). */
  stop() {
    const p = this.decoder;
    this.pending = [];
    this.decoded = [];
    if (!p) return;
    this.decoder = undefined;
    try {
      p.stop();
      this.decoders!.release(p);
    } catch {
      this.decoders!.discard(p);
    }
  }

  /** The topic recogniser's level rule, over the voice heard so far. */
  private setGain() {
    this.gain = levelGain(joined(this.pending));
  }

  private decodePending(max: number) {
    for (let n = 0; n < max && this.pending.length && this.decoder; n++) {
      const p = this.decoder;
      const x = this.pending.shift()!;
      const gain = this.gain ?? 1;
      if (gain !== 1) for (let i = 0; i < x.length; i++) x[i]! *= gain;
      this.decoded.push(x);
      try {
        p.process_audio(x);
      } catch {
        this.fail(p);
      }
    }
  }

  /** A decoder that threw is dropped, and this ear gives no more verdicts (the old rule applies). */
  private fail(p: Decoder) {
    this.decoders!.discard(p);
    this.decoder = undefined;
    this.failed = true;
  }
}

/** Chunks of a voice as one array. */
function joined(chunks: Float32Array[]): Float32Array {
  const all = new Float32Array(chunks.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of chunks) (all.set(x, at), (at += x.length));
  return all;
}
