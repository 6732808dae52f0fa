/**
 * Grammar-limited speech recognition for rehearsal NPCs: PocketSphinx (soundswallower, WebAssembly, the bundled
 * US English model) decodes the player's turn against the NPC's topic grammar *while the player speaks*, so the
 * words are ready the moment the turn ends. Runs in the engine's own (worker) thread, only during player speech.
 *
 * Out-of-topic speech must not be forced onto the nearest topic: the grammar has a second path, a loop over
 * single phones ("garbage"), which any speech can take. Speech that is not one of the topic asks costs less
 * through the loop than through the topic words, so it decodes as phones and is rejected.
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import createModule, { type Decoder, type SoundSwallowerModule } from 'soundswallower';
import { Resampler } from '../../../protocol/dsp/resampler.ts';
import { loudestRms, rms } from '../../../protocol/dsp/level.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../../protocol/frame.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { DecoderPool, type PooledDecoder } from './decoder-pool.ts';
import { cleanHypothesis, type CompiledTopics } from './topic-matcher.ts';

export const RECOGNISER_RATE = 16_000;
/** the engine's frames (the hearing mix) */
const INPUT_RATE = SAMPLE_RATE;
/** longer than any end-of-turn wait: a decode still open after this much quiet belonged to no turn */
const DISCARD_AFTER_QUIET_MS = 4000;
/**
 * Quiet after speech that is still decoded: enough for the decoder to close the last word. The rest of the wait
 * for the end of the turn (up to 1.6 s with the prosody hold) is not decoded; speech after it is, from its start.
 */
const TRAILING_SILENCE_MS = 400;
/** a turn that has waited this long for a decoder of its grammar may take one from another grammar */
const MOVE_AFTER_FRAMES = 6;
/** what the idle pump decodes at a time: 20 ms of audio (2–3 ms of CPU), so a step arriving meanwhile waits little */
const IDLE_SLICE = 320;

const PHONES = ['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'B', 'CH', 'D', 'DH', 'EH', 'ER', 'EY', 'F', 'G', 'HH', 'IH', 'IY', 'JH', 'K', 'L', 'M', 'N', 'NG', 'OW', 'OY', 'P', 'R', 'S', 'SH', 'T', 'TH', 'UH', 'UW', 'V', 'W', 'Y', 'Z', 'ZH'];
const PHONE_WORDS = PHONES.map((p) => [`ph_${p.toLowerCase()}`, p] as [string, string]);
/** JSGF for any sequence of single phones: what speech that is none of a grammar's words decodes as */
export const PHONE_LOOP = `(${PHONE_WORDS.map(([w]) => w).join(' | ')})+`;

export interface RecognizerOptions {
  /** the phone-loop path that rejects out-of-topic speech (default true) */
  garbage?: boolean;
  /** PocketSphinx word insertion penalty: lower favours few long words (the topic path) over many phones */
  wordPenalty?: number;
  /** audio kept from before the VAD confirmed speech, fed first (the VAD confirms quiet or soft onsets late; 1 s covers them) */
  preRollMs?: number;
  /**
   * Quiet kept before the speech onset found in the pre-roll (the rest of the pre-roll is not decoded). Decoding
   * quiet costs about twice what speech does (every grammar path stays open), and a turn's pre-roll was mostly
   * quiet. The onset search errs long: a pre-roll with no clear quiet is decoded whole.
   */
  preRollQuietMs?: number;
  /** longest stretch of a turn decoded; a monologue beyond it is not decoded further (CPU stays bounded) */
  maxTurnMs?: number;
  /**
   * Acoustic model: 'auto' (default) uses Debian's pocketsphinx-en-us wideband model when it is installed and
   * soundswallower's bundled narrowband one otherwise; 'bundled'; or a PocketSphinx model folder (feat.params,
   * mdef, means, variances, sendump, transition_matrices).
   */
  model?: 'auto' | 'bundled' | string;
  /**
   * Decoders per worker, all started with the engine (each about 25 MB; starting one blocks its thread for
   * 0.35 s or more, so none is started while sessions step). Each stays on one sheet's grammar (DecoderPool);
   * a sheet's sessions share its decoders, one turn at a time each. Default 6: one for each of the cast's four
   * sheets and two that go where turns overlap.
   */
  decoders?: number;
  /** PocketSphinx frame downsampling: 2 scores every other 10 ms frame (about half the CPU) */
  downsample?: 1 | 2;
  /**
   * Undecoded audio a turn may hold: past it a step decodes two frames of it, and the step that ends a turn decodes
   * at most this much (normally the thread decodes between steps and leaves under a frame); a turn still further
   * behind at its end (a decoder freed late, a starved thread) is not understood.
   */
  maxBacklogMs?: number;
  /** further PocketSphinx settings (e.g. beam, maxhmmpf), for tuning */
  decoderConfig?: Record<string, string | number | boolean>;
}

/** Debian's `pocketsphinx-en-us` package: the same US English model family, with a 6.8 kHz (wideband) front end. */
export const DEBIAN_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us/en-us';

const DEFAULTS: Required<RecognizerOptions> = { garbage: true, wordPenalty: 0.05, preRollMs: 1000, preRollQuietMs: 600, maxTurnMs: 10_000, model: 'auto', decoders: 6, downsample: 1, maxBacklogMs: 1200, decoderConfig: {} };

/** The decoding grammar: the sheet's topic grammar, plus the garbage path. */
export function decodingGrammar(topics: CompiledTopics, garbage: boolean): string {
  if (!garbage) return topics.jsgf;
  return topics.jsgf
    .replace('public <ask> = ', 'public <heard> = <ask> | <garbage>;\n<ask> = ')
    .concat(`<garbage> = ${PHONE_LOOP};\n`);
}

let modulePromise: Promise<SoundSwallowerModule> | undefined;
function bundledModelBase(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('soundswallower')), 'model');
}
function loadModule(): Promise<SoundSwallowerModule> {
  modulePromise ??= createModule({ modelBase: bundledModelBase() + path.sep } as Partial<SoundSwallowerModule>);
  return modulePromise;
}

/** `-key value` lines of a PocketSphinx feat.params → the JSON soundswallower reads. */
export function featParamsJson(text: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const line of text.split('\n')) {
    const m = /^-(\S+)\s+(\S+)/.exec(line.trim());
    if (!m || m[1] === 'model' || m[1] === 'agc') continue;
    const v = m[2]!;
    out[m[1]!] = v === 'yes' || v === 'no' ? v === 'yes' : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/**
 * The model folder to decode with, or undefined for the bundled one. A PocketSphinx folder is presented the way
 * soundswallower expects (feat_params.json, its dictionary) through links in a temporary folder, made once.
 */
const prepared = new Map<string, string>();
function modelDir(choice: string): string | undefined {
  const dir = choice === 'auto' ? (existsSync(path.join(DEBIAN_MODEL_DIR, 'feat.params')) ? DEBIAN_MODEL_DIR : undefined) : choice === 'bundled' ? undefined : choice;
  if (!dir) return undefined;
  let ready = prepared.get(dir);
  if (!ready) {
    const bundled = path.join(bundledModelBase(), 'en-us');
    ready = mkdtempSync(path.join(os.tmpdir(), 'parley-am-'));
    for (const f of ['mdef', 'means', 'variances', 'sendump', 'transition_matrices']) symlinkSync(path.join(dir, f), path.join(ready, f));
    for (const f of ['dict.txt', 'noisedict.txt', 'phoneset.json']) symlinkSync(path.join(bundled, f), path.join(ready, f));
    writeFileSync(path.join(ready, 'feat_params.json'), JSON.stringify(featParamsJson(readFileSync(path.join(dir, 'feat.params'), 'utf8'))));
    prepared.set(dir, ready);
  }
  return ready;
}

/**
 * One per engine (worker thread). Its decoders (about 25 MB and 0.35 s to start each) are all started with it
 * and shared by every session through a DecoderPool: each decoder stays on the grammar of one sheet, and a
 * player's turn takes a free decoder of its sheet's grammar and gives it back once the player has gone quiet.
 */
export class TopicRecognizer {
  private pool = new DecoderPool<Decoder>([]);
  readonly options: Required<RecognizerOptions>;

  private constructor(
    private readonly ss: SoundSwallowerModule,
    options: RecognizerOptions,
    private readonly log: Logger,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  static async create(options: RecognizerOptions = {}, log: Logger = silentLogger): Promise<TopicRecognizer> {
    const r = new TopicRecognizer(await loadModule(), options, log);
    const n = r.options.decoders;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`recognition.decoders must be a whole number from 1 to 64, got ${n}`);
    const decoders: Decoder[] = [];
    for (let i = 0; i < n; i++) decoders.push(await r.newDecoder());
    r.pool = new DecoderPool(decoders, log);
    return r;
  }

  private async newDecoder(): Promise<Decoder> {
    const hmm = modelDir(this.options.model);
    const d = new this.ss.Decoder({ loglevel: 'FATAL', samprate: RECOGNISER_RATE, wip: this.options.wordPenalty, ds: this.options.downsample, ...(hmm ? { hmm } : {}), ...this.options.decoderConfig });
    await d.initialize();
    d.add_words(...PHONE_WORDS);
    // one short decode now, so the first player's turn does not pay for compiling the decoding code
    d.set_grammar('#JSGF V1.0;\ngrammar warm;\npublic <w> = hello;\n');
    d.start();
    d.process_audio(Float32Array.from({ length: RECOGNISER_RATE / 2 }, (_, i) => 0.05 * Math.sin(i / 3)));
    d.stop();
    return d;
  }

  /**
   * A decoder outside the pool, holding `grammar` for good, with `words` (`[word, phones]`, e.g. `['yeah(2)', 'Y EH']`
   * for another pronunciation) in its dictionary: for the talk-over ear (talk-over-ear.ts). Starting one blocks
   * this thread for 0.35 s or more: only at engine start. Throws when the grammar does not compile.
   */
  async ownDecoder(grammar: string, words: [string, string][] = []): Promise<Decoder> {
    const d = await this.newDecoder();
    if (words.length) d.add_words(...words);
    d.set_grammar(grammar);
    return d;
  }

  /** At session open (after `listen`): a decoder holds the grammar (`listen` pinned it), so no turn waits for that. */
  async prepare(grammar: string): Promise<void> {
    this.pool.pin(grammar);
  }

  /**
   * A free decoder holding `grammar`, or undefined (ask again later). Only the idle pump passes `mayPin`: a
   * grammar is never set inside a step.
   */
  acquire(grammar: string, mayPin: boolean, mayMove = false): PooledDecoder<Decoder> | undefined {
    return this.pool.acquire(grammar, { mayPin, mayMove });
  }

  release(p: PooledDecoder<Decoder>) {
    this.pool.release(p);
  }

  /** A decoder that failed is not reused. */
  discard(p: PooledDecoder<Decoder>) {
    this.pool.discard(p);
  }

  /** Turns with audio waiting to be decoded, served round robin a slice at a time between steps. */
  private readonly waiting = new Set<TurnListener>();
  private pumping = false;

  wake(l: TurnListener) {
    this.waiting.add(l);
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(this.pump);
    }
  }

  forget(l: TurnListener) {
    this.waiting.delete(l);
  }

  /**
   * One slice per macrotask: the thread's messages (the next step) are handled between slices, so a step waits at
   * most one slice behind the decoding. Round robin, but turns whose player is quiet first.
   */
  private readonly pump = () => {
    // a turn whose player has gone quiet may end any frame now: its decoding goes first
    let l: TurnListener | undefined;
    for (const w of this.waiting) {
      l ??= w;
      if (w.quiet) {
        l = w;
        break;
      }
    }
    if (!l) {
      this.pumping = false;
      return;
    }
    this.waiting.delete(l);
    if (l.idleSlice()) this.waiting.add(l); // to the back of the queue
    setImmediate(this.pump);
  };

  /** `startSpeechMs`: speech the VAD must hear before a turn is decoded (turn-taking's minSpeechMs). Throws when the grammar does not compile. */
  listen(topics: CompiledTopics, startSpeechMs = 96): TurnListener {
    const grammar = decodingGrammar(topics, this.options.garbage);
    this.pool.use(grammar);
    try {
      // at session open: a decoder takes the grammar now (and checks it compiles)
      this.pool.pin(grammar);
    } catch (err) {
      this.pool.unuse(grammar);
      throw err;
    }
    return new TurnListener(this, grammar, this.log, startSpeechMs);
  }

  /** A listener closed: its grammar has one session fewer. */
  unlisten(l: TurnListener) {
    this.forget(l);
    this.pool.unuse(l.grammar);
  }

  get decoders(): number {
    return this.pool.size;
  }

  /** Decoders pinned to `grammar` (for tests). */
  pinnedTo(grammar: string): number {
    return this.pool.pinnedTo(grammar);
  }

  /** Grammar changes on decoders already pinned to another grammar, since the start. */
  get switches(): number {
    return this.pool.switches;
  }

  dispose() {
    this.pool.dispose();
  }
}

/** Speech level the decoder hears best; a quiet turn is raised towards it (at most ×16), a loud one left alone. */
const TARGET_RMS = 0.05;
/** The gain that brings speech `x` (16 kHz) to the level the decoder hears best. */
export function levelGain(x: Float32Array): number {
  // the loudest 20 ms of the onset stands for the speech level (the rest of the pre-roll may be silence)
  const loudest = loudest20ms(x);
  return loudest > 0 ? Math.min(16, Math.max(1, TARGET_RMS / loudest)) : 1;
}

/** RMS of the loudest 20 ms (16 kHz) of `x`, over windows 10 ms apart. */
function loudest20ms(x: Float32Array): number {
  return loudestRms(x, 320, 160);
}

/**
 * Where to start decoding a pre-roll (16 kHz): `quietMs` before the first 10 ms of it that is louder than both
 * −30 dB under its loudest 20 ms and four times its quietest tenth (its noise floor), so a soft onset is kept;
 * from its start when no part of it stands out so.
 */
export function speechOnset(x: Float32Array, quietMs: number): number {
  const block = 160;
  const n = Math.floor(x.length / block);
  if (n === 0) return 0;
  const levels = new Float64Array(n);
  for (let b = 0; b < n; b++) levels[b] = rms(x.subarray(b * block, (b + 1) * block));
  const loudest = loudest20ms(x.subarray(0, n * block));
  const floor = [...levels].sort((a, b) => a - b)[Math.floor(n / 10)]!;
  const threshold = Math.max(loudest * 0.03, floor * 4);
  let onset = 0;
  while (onset < n && levels[onset]! <= threshold) onset++;
  if (onset === n) return 0; // no onset to be found (a steady level): all of it
  return Math.max(0, (onset - Math.round(quietMs / 10)) * block);
}

/** A copy at `gain`: the resampler's output is a view it reuses, and the backlog keeps samples across frames. */
function scaled(x: Float32Array, gain: number): Float32Array {
  return gain === 1 ? x.slice() : x.map((v) => v * gain);
}

/** What the VAD says about the player this frame (the SpeechDetector's two counters). */
export interface PlayerSpeech {
  speechMs: number;
  silenceMs: number;
}

/**
 * One session's ears: keeps a short pre-roll of the hearing mix, and from the moment the VAD confirms speech
 * resamples the turn to 16 kHz and queues it for the decoder (the recogniser's idle pump decodes it) until the
 * engine asks for the turn's words. Outside turns it only copies the frame into the pre-roll (resampled when a
 * turn starts): resampling every frame of every session cost about as much as the rest of the engine.
 */
export class TurnListener {
  /** the hearing mix (24 kHz), the last preRollMs of it */
  private readonly preRoll: Float32Array;
  private preRollHeld = 0;
  /** this turn's 24 → 16 kHz resampler, made when the turn starts */
  private resampler: Resampler | undefined;
  /** the last frame at 16 kHz, kept while the quiet is skipped: a resumed turn is decoded from it */
  private skippedFrame: Float32Array | undefined;
  private decoder: PooledDecoder<Decoder> | undefined;
  /** audio of this turn not yet decoded */
  private backlog: Float32Array[] = [];
  /** all of this turn's audio as queued, to decode again if the player speaks after an early close */
  private turnAudio: Float32Array[] = [];
  /** the words of this turn when its utterance closed early (the player went quiet, all of it decoded) */
  private closedWords: string[] | undefined;
  /** times this turn was decoded again from its start (speech after an early close) */
  private redecodes = 0;
  /** frames this turn has waited for a decoder */
  private waitedFrames = 0;
  /** the turn's words will not be used (the player cut the NPC off): nothing more of it is decoded */
  private dropped = false;
  private active = false;
  /** samples of this turn queued for decoding so far (capped by maxTurnMs) */
  private queuedSamples = 0;
  private failed = false;
  /** level correction for this turn, set when it starts (quiet players are brought up to a normal level) */
  private gain = 1;
  /** CPU ms spent decoding (for benches) */
  decodeMs = 0;
  /** the player was quiet in the last frame: the turn may end soon (the idle pump serves such turns first) */
  quiet = false;
  /** in a quiet past TRAILING_SILENCE_MS: not queued */
  private skipping = false;
  /** audio of this turn decoded inside steps (past the cap, or left at its end), in samples */
  private inStepSamples = 0;
  /** PARLEY_RECOGNIZER_DUMP=dir: each turn's decoder input (16 kHz, after the level gain) and words are written there, to diagnose */
  private readonly dumpDir = process.env.PARLEY_RECOGNIZER_DUMP;
  private dumped: Float32Array[] = [];

  constructor(
    private readonly recognizer: TopicRecognizer,
    readonly grammar: string,
    private readonly log: Logger,
    private readonly startSpeechMs = 96,
  ) {
    // one frame more than the pre-roll: the resampler's filter starts on it, so the pre-roll it gives is exactly the
    // one a resampler running all along would have given
    this.preRoll = new Float32Array(Math.round((recognizer.options.preRollMs / 1000) * INPUT_RATE) + FRAME_SAMPLES);
  }

  /** Once per frame (24 kHz), after the VAD heard it. */
  push(frame: Float32Array, heard: PlayerSpeech) {
    this.keep(frame);
    this.quiet = heard.silenceMs > 0;
    if (!this.active) {
      if (heard.speechMs >= this.startSpeechMs && !this.failed) this.start();
    } else if (!this.dropped) {
      const x = this.resampler!.process(frame);
      if (this.queuedSamples < (this.recognizer.options.maxTurnMs / 1000) * RECOGNISER_RATE) {
        if (heard.silenceMs > TRAILING_SILENCE_MS) {
          this.skipping = true;
          this.skippedFrame = x.slice();
        } else {
          // speech again after a skipped quiet: from the frame before, which holds its onset the VAD confirmed late
          let y = x;
          if (this.skipping && this.skippedFrame) {
            y = new Float32Array(this.skippedFrame.length + x.length);
            y.set(this.skippedFrame);
            y.set(x, this.skippedFrame.length);
          }
          if (this.skipping) this.reopen();
          this.skipping = false;
          this.skippedFrame = undefined;
          const chunk = scaled(y, this.gain);
          this.backlog.push(chunk);
          this.turnAudio.push(chunk);
          this.queuedSamples += y.length;
        }
      }
    }
    // speech that never became a turn (a listener's "mm-hm" over the NPC): forget it after a long quiet
    if (this.active && heard.silenceMs >= DISCARD_AFTER_QUIET_MS) this.finish();
    if (!this.active || this.dropped) return;
    if (!this.decoder && this.backlog.length) this.waitedFrames++;
    // Decoding happens between steps (TopicRecognizer's idle pump), so a step never carries it and the room's
    // tick never waits for it. Only a backlog past the cap is decoded here, two frames a step (a thread stepped
    // back to back, as tests and benches do, has little idle time).
    const over = this.pending() - this.recognizer.options.maxBacklogMs * (RECOGNISER_RATE / 1000);
    if (over > 0) this.inStepSamples += this.feed(Math.min(over, 2560), false);
    // the pump also closes the utterance once the player has gone quiet and all of it is decoded
    if (this.backlog.length || (this.skipping && this.decoder)) this.recognizer.wake(this);
  }

  /** The turn starts: its pre-roll (which already holds this frame) is resampled and queued first. */
  private start() {
    this.active = true;
    this.skipping = false;
    this.closedWords = undefined;
    this.redecodes = 0;
    this.waitedFrames = 0;
    this.dropped = false;
    // 16 zero crossings: the acoustic model hears up to 6.8 kHz, so a shorter filter loses nothing it uses
    this.resampler = new Resampler(INPUT_RATE, RECOGNISER_RATE, { zeroCrossings: 16 });
    const out = this.resampler.process(this.preRoll.subarray(this.preRoll.length - this.preRollHeld));
    const whole = out.subarray(Math.max(0, out.length - Math.round((this.recognizer.options.preRollMs / 1000) * RECOGNISER_RATE)));
    const pre = whole.subarray(speechOnset(whole, this.recognizer.options.preRollQuietMs));
    this.gain = levelGain(pre);
    const chunk = scaled(pre, this.gain);
    this.backlog = [chunk];
    this.turnAudio = [chunk];
    this.queuedSamples = pre.length;
  }

  /** Speech after the utterance closed early: the turn goes on, so all of it is decoded again, from its start. */
  private reopen() {
    if (this.closedWords === undefined) return;
    this.closedWords = undefined;
    this.redecodes++;
    this.backlog = [...this.turnAudio];
  }

  /**
   * This turn's words will not be used: the player cut the NPC off, and a turn that did is answered with the
   * after-interruption line whatever was said. Its decoding stops now and its decoder is free for other turns;
   * `finish` then returns no words.
   */
  drop() {
    if (!this.active || this.dropped) return;
    this.dropped = true;
    this.recognizer.forget(this);
    this.backlog = [];
    this.turnAudio = [];
    this.closedWords = undefined;
    if (this.decoder) this.endUtterance(false);
  }

  /** samples of this turn queued and not yet decoded */
  pending(): number {
    let n = 0;
    for (const x of this.backlog) n += x.length;
    return n;
  }

  /** The idle pump: decode one slice (IDLE_SLICE) of this turn. Returns whether more is waiting. */
  idleSlice(): boolean {
    if (!this.active || this.failed) return false;
    this.feed(IDLE_SLICE, true);
    // the player has gone quiet and everything is decoded: close the utterance, so the decoder serves another turn
    if (this.decoder && this.skipping && this.backlog.length === 0) {
      this.closedWords = this.endUtterance();
      return false;
    }
    return this.active && this.backlog.length > 0 && this.decoder !== undefined;
  }

  /**
   * Ends the utterance on the decoder this turn holds and gives the decoder back; the words heard, or none
   * without `read` (a turn whose words will not be used).
   */
  private endUtterance(read = true): string[] {
    const p = this.decoder!;
    let words: string[] = [];
    const t0 = performance.now();
    this.guard(() => {
      p.decoder.stop();
      if (read) words = cleanHypothesis(p.decoder.get_text());
    });
    if (read) this.decodeMs += performance.now() - t0;
    if (!this.failed) this.recognizer.release(p);
    this.decoder = undefined;
    return words;
  }

  private keep(x: Float32Array) {
    const n = this.preRoll.length;
    if (x.length >= n) {
      this.preRoll.set(x.subarray(x.length - n));
      this.preRollHeld = n;
      return;
    }
    this.preRoll.copyWithin(0, x.length);
    this.preRoll.set(x, n - x.length);
    this.preRollHeld = Math.min(n, this.preRollHeld + x.length);
  }

  /** Decode what is waiting, at most `limit` samples; returns how many it decoded. */
  private feed(limit: number, mayPin: boolean): number {
    if (!this.decoder) {
      if (this.backlog.length === 0) return 0;
      this.decoder = this.recognizer.acquire(this.grammar, mayPin, this.waitedFrames >= MOVE_AFTER_FRAMES);
      if (!this.decoder) return 0;
      this.guard(() => this.decoder!.decoder.start());
      if (!this.decoder) return 0;
    }
    const t0 = performance.now();
    let budget = limit;
    let done = 0;
    while (this.backlog.length && budget > 0 && this.decoder) {
      const chunk = this.backlog[0]!;
      const take = chunk.subarray(0, budget);
      if (take.length) this.guard(() => this.decoder?.decoder.process_audio(take));
      done += take.length;
      if (this.dumpDir && take.length) this.dumped.push(take.slice());
      budget -= take.length;
      if (take.length === chunk.length) this.backlog.shift();
      else this.backlog[0] = chunk.subarray(take.length);
    }
    this.decodeMs += performance.now() - t0;
    return done;
  }

  /**
   * The player's turn is over: the words heard in it (empty when nothing matched the grammar or nothing was
   * decoded), and the listener resets for the next turn.
   */
  finish(): string[] {
    this.recognizer.forget(this);
    if (!this.active) return [];
    if (this.dropped) {
      this.active = false;
      this.dropped = false;
      this.log.debug({ dropped: true, turnMs: Math.round(this.queuedSamples / (RECOGNISER_RATE / 1000)) }, 'turn decoded');
      return [];
    }
    const undecoded = this.pending();
    const closedEarly = this.closedWords !== undefined;
    // What the idle pump has not decoded yet: normally nothing (or under a frame). More than maxBacklogMs means
    // the thread had no idle time; decoding it here could hold the step past its deadline (the worker would be
    // replaced, every session on it lost), so the turn is not understood instead.
    const gaveUp = !closedEarly && undecoded > this.recognizer.options.maxBacklogMs * (RECOGNISER_RATE / 1000);
    if (!closedEarly && !gaveUp) this.inStepSamples += this.feed(Infinity, false);
    let words: string[] = this.closedWords ?? [];
    const decoded = closedEarly || (this.decoder !== undefined && !gaveUp);
    if (this.decoder) {
      if (gaveUp) this.endUtterance(false);
      else words = this.endUtterance();
    }
    this.active = false;
    this.backlog = [];
    this.turnAudio = [];
    this.closedWords = undefined;
    this.resampler = undefined;
    this.skippedFrame = undefined;
    // how the turn was decoded, for benches: on a thread with idle time, none of it inside steps
    const inStepMs = Math.round(this.inStepSamples / (RECOGNISER_RATE / 1000));
    this.inStepSamples = 0;
    this.log.debug(
      { decoded, gaveUp, closedEarly, redecodes: this.redecodes, waitedMs: this.waitedFrames * 80, turnMs: Math.round(this.queuedSamples / (RECOGNISER_RATE / 1000)), inStepMs, undecodedAtEndMs: Math.round(undecoded / (RECOGNISER_RATE / 1000)) },
      'turn decoded',
    );
    if (this.dumpDir && decoded) this.dump(words);
    this.dumped = [];
    return decoded ? words : [];
  }

  /** A decoder failure costs this session its understanding (it says "didn't catch that"), nothing more. */
  private guard(f: () => void) {
    if (this.failed) return;
    try {
      f();
    } catch (err) {
      this.failed = true;
      this.active = false;
      if (this.decoder) this.recognizer.discard(this.decoder);
      this.decoder = undefined;
      this.log.warn({ err: (err as Error).message }, 'speech recognition failed; this session answers without it');
    }
  }

  private dump(words: string[]) {
    const n = this.dumped.reduce((a, x) => a + x.length, 0);
    const pcm = Buffer.alloc(44 + 2 * n);
    pcm.write('RIFF', 0);
    pcm.writeUInt32LE(36 + 2 * n, 4);
    pcm.write('WAVEfmt ', 8);
    pcm.writeUInt32LE(16, 16);
    pcm.writeUInt16LE(1, 20);
    pcm.writeUInt16LE(1, 22);
    pcm.writeUInt32LE(RECOGNISER_RATE, 24);
    pcm.writeUInt32LE(2 * RECOGNISER_RATE, 28);
    pcm.writeUInt16LE(2, 32);
    pcm.writeUInt16LE(16, 34);
    pcm.write('data', 36);
    pcm.writeUInt32LE(2 * n, 40);
    let o = 44;
    for (const x of this.dumped) for (const v of x) (pcm.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), o), (o += 2));
    this.dumped = [];
    const base = path.join(this.dumpDir!, `turn-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`);
    try {
      writeFileSync(`${base}.wav`, pcm);
      writeFileSync(`${base}.txt`, `gain ${this.gain.toFixed(2)}\nwords ${words.join(' ')}\n`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not write the recogniser dump');
    }
  }

  close() {
    this.recognizer.unlisten(this);
    this.active = false;
    this.backlog = [];
    this.turnAudio = [];
    if (this.decoder) {
      const p = this.decoder;
      this.decoder = undefined;
      try {
        p.decoder.stop();
      } catch {
        // an utterance that never started has nothing to stop
      }
      this.recognizer.release(p);
    }
  }
}
