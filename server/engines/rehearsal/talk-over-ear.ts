/**
 * What a short voice over the NPC said: a listener's backchannel ("yeah", "okay", "uh huh", "I see") or anything
 * else ("stop", "wait", "hold on", "sorry to interrupt,"). Their lengths overlap (0.2–0.7 s of voice either way),
 * so turn-taking cannot tell them apart by the clock; the words can. While the NPC is paused for a voice
 * (turn-taking's hesitation), the voice is decoded frame by frame against a small grammar, the backchannel words
 * or a loop over single phones (the same "garbage" path the topic recogniser uses to reject out-of-topic speech).
 * At the moment the NPC would carry on, the verdict says whether it should: a backchannel resumes the line,
 * anything else ends it as a barge-in would. No verdict (no free decoder, recognition off) keeps the old rule.
 *
 * One decoder of the recogniser's pool holds this grammar from the engine's start; a paused session takes it for
 * the pause (a few frames) and gives it back. Cost: about 4 ms of CPU per paused frame, only while paused.
 */
import type { Decoder } from 'soundswallower';
import { Resampler } from '../../../protocol/dsp/resampler.ts';
import { rms } from '../../../protocol/dsp/level.ts';
import { SAMPLE_RATE } from '../../../protocol/frame.ts';
import type { PooledDecoder } from './decoder-pool.ts';
import { PHONE_LOOP, RECOGNISER_RATE, type TopicRecognizer } from './recognizer.ts';

/**
 * What a listener says to keep a speaker going (phrases of the recogniser's dictionary words). Not "mhm" or "hmm":
 * a "hang on" decoded as "mhm" in two voices.
 */
export const BACKCHANNEL_PHRASES = [
  'yeah', 'yes', 'yep', 'yup', 'okay', 'ok', 'right', 'uh-huh', 'uh huh', 'i see', 'sure', 'alright',
  'got it', 'oh okay', 'oh right', 'oh yeah', 'oh i see', 'yeah yeah', 'okay okay', 'right right', 'yes yes',
];

/**
 * Other pronunciations of backchannels, as people say them in passing (and as the dictionary's one form missed them
 * on synthetic voices): "yeah" as /jɛ/ or /jə/, "okay" with a reduced first vowel, "right" without its stop. Left
 * out on purpose, each measured to turn a real interruption into a backchannel: "okay" as K EY ("hey"), "yeah" as
 * Y UW ("excuse me"), "uh huh" on other vowels ("hold on").
 */
export const BACKCHANNEL_PRONUNCIATIONS: [string, string][] = [
  ['yeah(2)', 'Y EH'], ['yeah(3)', 'Y AH'], ['yeah(4)', 'Y EH AH'],
  ['okay(2)', 'AH K EY'], ['okay(3)', 'OW K EY IY'],
  ['right(2)', 'R AY'],
  ['yep(2)', 'Y EH'], ['yep(3)', 'Y AH P'],
];

/**
 * The decoding grammar: one backchannel phrase, or the phone loop for anything else. Whole phrases, not free
 * word sequences: with single words free to combine, "hold on" decoded as "oh got" and "sorry to" as "true".
 */
export const BACKCHANNEL_GRAMMAR = [
  '#JSGF V1.0;',
  'grammar backchannel;',
  'public <heard> = <bc> | <garbage>;',
  `<bc> = ${BACKCHANNEL_PHRASES.join(' | ')};`,
  `<garbage> = ${PHONE_LOOP};`,
  '',
].join('\n');

export type TalkOverVerdict = 'backchannel' | 'other' | 'unknown';

/** Speech level the decoder hears best; a quiet voice is raised towards it (at most ×16), a loud one left alone. */
const TARGET_RMS = 0.05;
/** frames kept from before the pause: the VAD confirms a voice a frame or two after it starts */
const PRE_ROLL_FRAMES = 3;
/** longest stretch decoded: past it the voice was long enough to be a barge-in anyway */
const MAX_FRAMES = 20;

/** One session's ear for voices over its NPC. */
export class TalkOverEar {
  private readonly preRoll: Float32Array[] = [];
  private resampler: Resampler | undefined;
  private decoder: PooledDecoder<Decoder> | undefined;
  private gain = 1;
  private frames = 0;
  private failed = false;
  /** words decoded so far when the verdict was taken (for logs and tests) */
  heard = '';

  constructor(private readonly recognizer: TopicRecognizer | undefined) {}

  /** Every frame of the hearing mix (24 kHz), after the VAD heard it; decoded only while listening. */
  push(frame: Float32Array) {
    if (!this.decoder) {
      this.preRoll.push(frame.slice());
      if (this.preRoll.length > PRE_ROLL_FRAMES) this.preRoll.shift();
      return;
    }
    if (this.frames >= MAX_FRAMES) return;
    this.decode(frame);
  }

  /** The NPC paused for a voice: start listening to it (with the frames before the pause). */
  listen() {
    this.stop();
    this.heard = '';
    if (!this.recognizer || this.failed) return;
    const p = this.recognizer.acquire(BACKCHANNEL_GRAMMAR, false);
    if (!p) return;
    try {
      p.decoder.start();
    } catch {
      this.recognizer.discard(p);
      this.failed = true;
      return;
    }
    this.decoder = p;
    this.resampler = new Resampler(SAMPLE_RATE, RECOGNISER_RATE);
    this.frames = 0;
    let loudest = 0;
    for (const f of this.preRoll) loudest = Math.max(loudest, loudest20ms(f));
    this.gain = loudest > 0 ? Math.min(16, Math.max(1, TARGET_RMS / loudest)) : 1;
    for (const f of this.preRoll) this.decode(f);
    this.preRoll.length = 0;
  }

  /** Whether what was heard since `listen` was a backchannel; ends the listening. */
  verdict(): TalkOverVerdict {
    const p = this.decoder;
    if (!p) return 'unknown';
    let text = '';
    try {
      p.decoder.stop();
      text = p.decoder.get_text().trim();
    } catch {
      this.recognizer!.discard(p);
      this.decoder = undefined;
      this.failed = true;
      return 'unknown';
    }
    this.recognizer!.release(p);
    this.decoder = undefined;
    this.heard = text;
    return BACKCHANNEL_PHRASES.includes(text.split(/\s+/).filter(Boolean).join(' ')) ? 'backchannel' : 'other';
  }

  /** Stop listening without a verdict (the NPC gave the line up, or the session closes). */
  stop() {
    const p = this.decoder;
    if (!p) return;
    this.decoder = undefined;
    try {
      p.decoder.stop();
      this.recognizer!.release(p);
    } catch {
      this.recognizer!.discard(p);
    }
  }

  private decode(frame: Float32Array) {
    const p = this.decoder;
    if (!p) return;
    const x = this.resampler!.process(frame);
    const y = this.gain === 1 ? x : x.map((v) => v * this.gain);
    try {
      p.decoder.process_audio(y);
    } catch {
      this.recognizer!.discard(p);
      this.decoder = undefined;
      this.failed = true;
    }
    this.frames++;
  }
}

/** RMS of the loudest 20 ms of a 24 kHz frame. */
function loudest20ms(x: Float32Array): number {
  let loudest = 0;
  for (let i = 0; i + 480 <= x.length; i += 240) loudest = Math.max(loudest, rms(x.subarray(i, i + 480)));
  return loudest;
}
