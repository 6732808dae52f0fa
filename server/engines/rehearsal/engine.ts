/**
 * The CPU default engine: rehearsal NPCs. It does not understand speech. It listens (Silero VAD), takes turns,
 * yields when interrupted, backchannels during long player turns, and speaks its character sheet's rehearsal
 * lines in an espeak voice, keeping the duplex contract: one 80 ms frame in, one out, at most one text piece.
 *
 * Timing conventions (see docs/rehearsal-engine.md): input frame k and output frame k share one timeline. A
 * decision made on hearing frame k takes effect from the start of output frame k; text pieces are sent in the
 * frame where their word's audio starts (textLeadFrames 0), or a frame later when two words start together.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../../protocol/frame.ts';
import { rms } from '../../../protocol/dsp/level.ts';
import { engineError, type DuplexEngine, type EngineEvent, type OpenOptions, type Persona, type SessionId, type StepInput, type StepOutput } from '../contract.ts';
import { LinePicker, linesFor, seededRandom } from './lines.ts';
import { Priority, SynthCache, type CacheEntry } from './synth-cache.ts';
import { InlineTts, cleanLine, type TtsBackend } from './tts.ts';
import { ThreadedTts } from './tts-thread.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { DEFAULT_TURN_TAKING, TurnTaking, type TurnTakingOptions, type UtteranceKind } from './turn-taking.ts';
import { interruptionPolicyOf, type InterruptionPolicy } from '../../persona/interruption.ts';
import { answersSpeechOver, FLOOR_KEPT, keepsFloor, phraseEndFrame } from './interruption-policy.ts';
import { Playback, type ScheduledWord } from './utterance.ts';
import { TopicRecognizer, type RecognizerOptions, type TurnListener } from './recognizer.ts';
import { TalkOverDecoders, TalkOverEar, type TalkOverVerdict } from './talk-over-ear.ts';
import { matchTopic, TopicAnswers, type CompiledTopics } from './topic-matcher.ts';
import { ProsodyTracker, turnEndProbability } from './prosody.ts';
import { SileroVad, SpeechDetector, type SpeechDetectorOptions, type VadStream } from './vad.ts';
import { VOICE_PROFILES, hashString, espeakVoiceFor, type EspeakVoice } from './voices.ts';

export interface RehearsalOptions {
  /** sessions this engine (one worker) steps in real time; default from bench/rehearsal.bench.ts */
  capacity?: number;
  /** 'thread' (default): espeak in its own thread; 'inline': in the stepping thread (tests, tools) */
  tts?: 'thread' | 'inline';
  vadModelPath?: string;
  vad?: SpeechDetectorOptions;
  turnTaking?: TurnTakingOptions;
  /** recognition of the sheet's topics (soundswallower) for personas that have them; false: answer with lines */
  recognition?: RecognizerOptions | false;
  /**
   * Tell a listener's "yeah" from a short "stop" by its words when the NPC paused for a voice (talk-over-ear.ts;
   * default true; needs recognition): a backchannel shorter than turnTaking.backchannelMaxMs lets the line go on.
   * false: any voice of turnTaking.bargeInMs ends the line.
   */
  talkOverWords?: boolean;
  /** judge the end of a turn by the player's prosody (default true); false: any silence of endOfTurnMs ends it */
  prosody?: boolean;
  /** longest a step waits for a line that is due but not yet synthesised, before playing silence meanwhile */
  ttsWaitMs?: number;
  /** no log records (tests) */
  quiet?: boolean;
}

/**
 * Sessions one worker steps in real time with room to spare. `npm run bench` on the 2-core reference machine
 * (shared, load average 5) sustained 128 sessions on 2 workers (step p95 52 ms of the 80 ms frame); half of
 * that per worker leaves the cores to the room, Opus and the TTS threads. docs/rehearsal-engine.md has the figures.
 */
export const DEFAULT_CAPACITY_PER_WORKER = 32;

/** Ground truth about one utterance, for tests and measurements. */
export interface UtteranceRecord {
  kind: UtteranceKind;
  text: string;
  /** session frame where its audio started; -1 while waiting for synthesis */
  startFrame: number;
  /** its length in frames (0 until it starts) */
  frames: number;
  /** session frame where it was cut off by the player, if it was */
  interruptedAt?: number;
  /** times it paused for the player's voice and then carried on (hesitation that was not a barge-in) */
  resumed?: number;
  /** session frame of its latest pause for the player's voice (the audible stop when a barge-in follows) */
  pausedAt?: number;
  /** its pauses for the player's voice: silent from `from` (the pause frame, which fades out) to `to` (where it
   * spoke again, or fell quiet for good); `to` is -1 while paused */
  holds?: { from: number; to: number }[];
  /** session frame where its audio ended for good (exclusive: played out, cut, or the pause a barge-in followed) */
  endFrame?: number;
  /** voices it paused for and would have carried on after: what they decoded as, and whether it then did */
  talkOvers?: { frame: number; heard: string; verdict: TalkOverVerdict }[];
  words: (ScheduledWord & { absoluteFrame: number; absoluteOnsetFrame: number })[];
  /** sessions with topics: the words recognised in the player's turn this answers, and the topic they matched */
  heard?: string;
  topic?: string;
}

interface Current {
  kind: UtteranceKind;
  entry: CacheEntry;
  playback: Playback | null;
  record: UtteranceRecord;
  /** finish_phrase: the session frame where this line stops, once a barge-in was decided */
  cutAt?: number;
  /** hold / talk_over: the player spoke over this line */
  heardOver?: boolean;
  /** yield, hesitating (turn-taking's hesitateMs): paused until the player stops or really barges in */
  paused?: 'now' | 'held';
  /** it carries on this frame after a pause ('resumed' goes out with the frame) */
  resumedNow?: boolean;
}

interface Session {
  id: SessionId;
  persona: Persona;
  voice: EspeakVoice;
  picker: LinePicker;
  turn: TurnTaking;
  detector: SpeechDetector;
  vad: VadStream;
  /** null when prosody is off */
  prosody: ProsodyTracker | null;
  /** turn-end probability of the speech before the current silence, measured once as the silence starts */
  turnEnd: number | undefined;
  current: Current | null;
  frame: number;
  history: UtteranceRecord[];
  warnedBadAudio: boolean;
  /** present when the sheet has topics: the recogniser listening to this session, and its answers */
  understanding?: { listener: TurnListener; answers: TopicAnswers };
  /** what it does when talked over (interruption-policy.ts) */
  policy: InterruptionPolicy;
  /** the words of a voice it paused for */
  ear: TalkOverEar;
}

const HISTORY = 16;
/**
 * Decoders the talk-over ears of a worker share (about 25 MB each). A voice over an NPC holds one for a second at
 * most; with all of them held, the next gets no verdict and ends the line, as before the ear.
 */
const TALK_OVER_DECODERS = 3;
/**
 * A listener's playout buffer drops what it holds when a pause reaches it (the 'paused' event), up to its target
 * depth: 40–100 ms on a clean link, about 200 ms at 60 ms of jitter (docs/latency.md). A resumed line goes back to
 * the word that was sounding this long before the pause, so the word the player last heard is said again whole.
 */
const RESUME_LOOK_BACK_SAMPLES = Math.round(0.16 * SAMPLE_RATE);

export class RehearsalEngine implements DuplexEngine {
  readonly name = 'rehearsal';
  get label(): string {
    return this.options.recognition === false
      ? 'Rehearsal NPC (CPU): scripted lines in an espeak voice; listens and takes turns, does not understand speech'
      : "Rehearsal NPC (CPU): recognises only its character sheet's topics and answers only with the sheet's lines, in an espeak voice; not a language model";
  }
  readonly capacity: number;
  readonly textLeadFrames = 0;

  private sessions = new Map<SessionId, Session>();
  private nextId = 1;
  private readonly cache: SynthCache;
  private readonly ttsWaitMs: number;
  /** speech heard over a kept line that counts as said (turn-taking's minSpeechMs) */
  private readonly minSpeechMs: number;
  private readonly log: Logger;
  /** started with the engine unless recognition is off; a rejected promise means none (each session logs it) */
  private recognizer: Promise<TopicRecognizer> | undefined;
  /** the talk-over ears' decoders (talk-over-ear.ts), when the recogniser started */
  private talkOverDecoders: TalkOverDecoders | undefined;

  private constructor(
    private readonly vad: SileroVad,
    private readonly tts: TtsBackend,
    private readonly options: RehearsalOptions,
    log: Logger,
  ) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY_PER_WORKER;
    this.cache = new SynthCache(tts);
    this.ttsWaitMs = options.ttsWaitMs ?? 150;
    this.minSpeechMs = options.turnTaking?.minSpeechMs ?? DEFAULT_TURN_TAKING.minSpeechMs;
    this.log = options.quiet ? silentLogger : log;
    // Fail at start, not at the first session, on bad tuning.
    new TurnTaking(options.turnTaking);
    new SpeechDetector(options.vad);
  }

  static async create(options: RehearsalOptions = {}, log: Logger = silentLogger): Promise<RehearsalEngine> {
    const [vad, tts] = await Promise.all([
      SileroVad.create(options.vadModelPath),
      options.tts === 'inline' ? InlineTts.create() : Promise.resolve(new ThreadedTts(log)),
    ]);
    try {
      // Start espeak now (about a second), not when the first NPC is due to greet.
      await tts.synthesize(VOICE_PROFILES.NATF0, 'Ready.');
    } catch (err) {
      await Promise.all([vad.dispose(), tts.dispose()]);
      throw err;
    }
    const engine = new RehearsalEngine(vad, tts, options, log);
    // Start the speech decoders now too: starting one blocks this thread for 0.4 s or more, which a step must
    // never wait behind. Without them (logged) NPCs answer with their lines.
    if (options.recognition !== false) {
      engine.recognizer = TopicRecognizer.create(options.recognition || {}, engine.log.child({ part: 'recognizer' }));
      const recognizer = await engine.recognizer.catch(() => undefined);
      if (recognizer && options.talkOverWords !== false) {
        try {
          engine.talkOverDecoders = await TalkOverDecoders.create(recognizer, TALK_OVER_DECODERS);
        } catch (err) {
          engine.log.warn({ err: (err as Error).message }, "cannot decode voices over an NPC; any short one lets its line go on");
        }
      }
    }
    return engine;
  }

  async open(persona: Persona, options?: OpenOptions): Promise<SessionId> {
    if (options?.signal?.aborted) throw new Error('open aborted');
    if (!persona || typeof persona !== 'object' || typeof persona.id !== 'string') {
      throw new Error('rehearsal engine: persona must be an object with a string id');
    }
    const voice = espeakVoiceFor(persona.voice);
    if (voice.note) this.log.info({ persona: persona.id }, voice.note);
    const lines = linesFor(persona);
    const seed = typeof persona.seed === 'number' && Number.isFinite(persona.seed) ? persona.seed : hashString(persona.id);
    const understanding = await this.understandingFor(persona);
    const id = this.nextId++;
    const s: Session = {
      id,
      persona,
      voice,
      picker: new LinePicker(lines, seededRandom(seed)),
      turn: new TurnTaking(this.options.turnTaking, { judgesWords: this.talkOverDecoders !== undefined }),
      detector: new SpeechDetector(this.options.vad),
      vad: this.vad.newStream(SAMPLE_RATE),
      prosody: this.options.prosody === false ? null : new ProsodyTracker(),
      turnEnd: undefined,
      current: null,
      frame: 0,
      history: [],
      warnedBadAudio: false,
      understanding,
      policy: interruptionPolicyOf(persona),
      ear: new TalkOverEar(this.talkOverDecoders),
    };
    this.sessions.set(id, s);
    // Synthesise everything this NPC may say, ahead of time and off this thread: the greeting and the short
    // lines first.
    this.cache.get(id, voice.profile, lines.greeting, Priority.Soon);
    for (const text of s.picker.all()) {
      const short = text === lines.afterInterruption || lines.backchannels.includes(text);
      this.cache.get(id, voice.profile, text, short ? Priority.Soon : Priority.Later);
    }
    for (const text of understanding?.answers.all() ?? []) this.cache.get(id, voice.profile, text, Priority.Later);
    options?.onProgress?.({ phase: 'rehearsal lines', fraction: 1 });
    return id;
  }

  async step(batch: StepInput[]): Promise<StepOutput[]> {
    const outputs: StepOutput[] = new Array(batch.length);
    const live: { idx: number; s: Session; frame: Float32Array; elsewhere: boolean }[] = [];
    batch.forEach((item, idx) => {
      const s = this.sessions.get(item?.session);
      if (!s) {
        outputs[idx] = { session: item?.session, output: new Float32Array(FRAME_SAMPLES), error: engineError('rejected', `unknown session ${item?.session}`) };
        return;
      }
      const frame = this.cleanInput(s, item.input);
      if (typeof frame === 'string') {
        outputs[idx] = { session: s.id, output: new Float32Array(FRAME_SAMPLES), error: engineError('rejected', frame) };
        return;
      }
      live.push({ idx, s, frame, elsewhere: item.floorElsewhere === true });
    });

    const probs = await this.vad.process(
      live.map((l) => l.s.vad),
      live.map((l) => l.frame),
    );

    // Decide for every session first; then wait (briefly, all together) for any line due but not ready.
    const interrupted = new Set<Session>();
    const waits: Promise<void>[] = [];
    live.forEach(({ s }, i) => {
      s.detector.update(probs[i]!, rms(live[i]!.frame) ** 2);
      s.understanding?.listener.push(live[i]!.frame, s.detector);
      s.ear.push(live[i]!.frame);
      if (s.prosody) {
        s.prosody.push(live[i]!.frame);
        if (s.detector.silenceMs === 0) s.turnEnd = undefined;
        else if (s.turnEnd === undefined) s.turnEnd = turnEndProbability(s.prosody.cues());
      }
      const playing = s.current;
      const done = !playing || (playing.playback !== null && playing.playback.done);
      if (done && playing) {
        s.current = null;
        if (playing.record.startFrame >= 0) playing.record.endFrame ??= s.frame;
        if (playing.heardOver && answersSpeechOver(s.policy)) s.turn.heardOver();
      }
      // While it keeps the floor (its policy, or a phrase it finishes), turn-taking hears nothing.
      const c = s.current;
      const keeping = c !== null && (c.cutAt !== undefined || keepsFloor(s.policy, c.kind));
      if (keeping && s.detector.speechMs >= this.minSpeechMs) c.heardOver = true;
      let d = s.turn.step(keeping ? FLOOR_KEPT : { speechMs: s.detector.speechMs, silenceMs: s.detector.silenceMs, onsetMs: s.detector.onsetMs, sinceLoudMs: s.detector.sinceLoudMs, turnEnd: s.turnEnd, voice: s.prosody ?? undefined }, done, live[i]!.elsewhere);
      if (c && d.pause) s.ear.listen();
      if (c && d.resume && d.ifBackchannel) {
        // a voice as long as a barge-in: it carries on only if the words were a listener's backchannel
        const verdict = s.ear.verdict();
        (c.record.talkOvers ??= []).push({ frame: s.frame, heard: s.ear.heard, verdict });
        if (verdict !== 'backchannel') d = s.turn.yieldNow();
      } else if (d.resume) s.ear.stop();
      if (d.interrupt) s.ear.stop();
      if (c && s.policy === 'yield' && (d.pause || d.resume)) this.hesitate(s, c, d.pause === true);
      // a turn that cut the NPC off is answered with the after-interruption line: its words are not needed
      if (d.interrupt) s.understanding?.listener.drop();
      if (d.interrupt && c) {
        if (s.policy === 'finish_phrase' && c.playback && !c.playback.done) {
          c.cutAt = c.record.startFrame + phraseEndFrame(c.record.words.map((w) => ({ piece: w.piece, onsetFrame: w.onsetFrame })), c.playback.position, c.playback.layout.frames);
        } else c.cutAt = s.frame;
      }
      if (c && c.cutAt !== undefined && s.frame >= c.cutAt) {
        interrupted.add(s);
        c.record.interruptedAt = s.frame;
        // quiet since the pause, if it was hesitating: that was the stop the player heard
        c.record.endFrame = c.paused && c.record.pausedAt !== undefined ? c.record.pausedAt : s.frame;
        if (c.paused) c.record.holds!.at(-1)!.to = c.record.endFrame;
        if (c.kind === 'line') s.picker.putBackLine();
      }
      if (d.say) {
        const { text, heard, topic } = this.choose(s, d.say);
        const entry = this.cache.get(s.id, s.voice.profile, text, Priority.Now);
        const record: UtteranceRecord = { kind: d.say, text, startFrame: -1, frames: 0, words: [], ...(heard !== undefined ? { heard, topic } : {}) };
        s.current = { kind: d.say, entry, playback: null, record };
        s.history.push(record);
        if (s.history.length > HISTORY) s.history.shift();
        if (!entry.layout && !entry.error) waits.push(entry.ready);
      }
    });
    if (waits.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, this.ttsWaitMs)))]);
      clearTimeout(timer);
    }

    for (const { idx, s } of live) {
      const output = new Float32Array(FRAME_SAMPLES);
      const out: StepOutput = { session: s.id, output };
      if (interrupted.has(s)) {
        s.current!.playback?.stop(output);
        s.current = null;
        out.events = ['interrupted' satisfies EngineEvent];
      } else if (s.current?.paused) {
        if (s.current.paused === 'now') {
          s.current.playback?.pause(output); // faded; silence after it
          out.events = ['paused' satisfies EngineEvent];
        }
        s.current.paused = 'held';
      } else if (s.current) {
        if (s.current.resumedNow) out.events = ['resumed' satisfies EngineEvent];
        s.current.resumedNow = false;
        this.play(s, s.current, out);
      }
      s.frame++;
      outputs[idx] = out;
    }
    return outputs;
  }

  /**
   * What to say. With topics, the end of a player's turn is answered from what was heard: the matched topic's
   * next answer, or "didn't catch that". A barge-in still gets the after-interruption line ("Sorry, go ahead"),
   * as without topics: the turn-taking is unchanged. Without topics, the next line.
   */
  private choose(s: Session, kind: UtteranceKind): { text: string; heard?: string; topic?: string } {
    const u = s.understanding;
    if (!u || kind === 'backchannel') return { text: s.picker.next(kind) };
    const words = u.listener.finish();
    const heard = words.join(' ');
    if (kind !== 'line') return { text: s.picker.next(kind), heard };
    let topic: ReturnType<typeof matchTopic>;
    try {
      topic = matchTopic(u.answers.compiled, words);
    } catch (err) {
      // a malformed ask tree from a hand-made persona: this session stops understanding, the batch goes on
      this.log.warn({ persona: s.persona.id, err: (err as Error).message }, 'cannot match topics; answering without them');
      s.understanding = undefined;
    }
    if (topic) return { text: u.answers.answer(topic), heard, topic: topic.id };
    return { text: u.answers.notUnderstood(), heard };
  }

  /** The recogniser and answers for a persona with topics; without (logged) when they are unusable. */
  private async understandingFor(persona: Persona): Promise<Session['understanding']> {
    const raw = (persona.rehearsal as { topics?: CompiledTopics } | undefined)?.topics;
    if (raw === undefined || this.options.recognition === false) return undefined;
    const lines = (x: unknown) => (Array.isArray(x) ? x.filter((l): l is string => typeof l === 'string').map(cleanLine).filter(Boolean) : []);
    const ok =
      raw && typeof raw.jsgf === 'string' && Array.isArray(raw.topics) && raw.lead && raw.tail &&
      raw.topics.every((t) => t && typeof t.id === 'string' && Array.isArray(t.asks) && lines(t.answers).length > 0);
    if (!ok || lines(raw.notUnderstood).length === 0) {
      this.log.warn({ persona: persona.id }, 'its topics are not a compiled topic set; it answers with its lines instead');
      return undefined;
    }
    const topics: CompiledTopics = {
      ...raw,
      topics: raw.topics.map((t) => ({ ...t, answers: lines(t.answers) })),
      notUnderstood: lines(raw.notUnderstood),
    };
    try {
      if (!this.recognizer) return undefined;
      const recognizer = await this.recognizer;
      const listener = recognizer.listen(topics, this.options.turnTaking?.minSpeechMs);
      await recognizer.prepare(listener.grammar);
      return { listener, answers: new TopicAnswers(topics) };
    } catch (err) {
      this.log.warn({ persona: persona.id, err: (err as Error).message }, 'speech recognition unavailable; it answers with its lines instead');
      return undefined;
    }
  }

  /**
   * Talked over (yield policy): pause now, or carry on from the word it paused in. Words not yet heard keep their
   * place in the ground truth, moved by the time the pause took.
   */
  private hesitate(s: Session, c: Current, pause: boolean) {
    if (pause) {
      c.paused = 'now';
      c.record.pausedAt = s.frame;
      (c.record.holds ??= []).push({ from: s.frame, to: -1 });
      return;
    }
    c.paused = undefined;
    const hold = c.record.holds?.at(-1);
    if (hold) hold.to = s.frame;
    c.resumedNow = true;
    c.record.resumed = (c.record.resumed ?? 0) + 1;
    const p = c.playback;
    if (!p) return;
    p.resume(RESUME_LOOK_BACK_SAMPLES);
    const at = p.playedSamples;
    for (const w of c.record.words) {
      if (w.onset < at) continue;
      w.absoluteOnsetFrame = s.frame + Math.floor((w.onset - at) / FRAME_SAMPLES);
      w.absoluteFrame = Math.max(w.absoluteFrame, w.absoluteOnsetFrame);
    }
  }

  private play(s: Session, c: Current, out: StepOutput) {
    if (!c.playback) {
      if (c.entry.error) {
        this.log.warn({ persona: s.persona.id, text: c.record.text, err: c.entry.error.message }, 'could not synthesise a line');
        s.current = null;
        s.turn.cancel();
        return;
      }
      if (!c.entry.layout) return; // still synthesising: silence this frame, start when ready
      c.playback = new Playback(c.entry.layout, c.kind);
      c.record.startFrame = s.frame;
      c.record.frames = c.entry.layout.frames;
      c.record.words = c.entry.layout.words.map((w) => ({
        ...w,
        absoluteFrame: s.frame + w.frame,
        absoluteOnsetFrame: s.frame + w.onsetFrame,
      }));
    }
    const played = c.playback.play(out.output);
    if (played.text) out.text = played.text;
    if (played.phonemes) out.phonemes = played.phonemes;
  }

  /** A frame the VAD can use, or why not. NaN/±Infinity become silence and samples are clipped to [-1, 1]. */
  private cleanInput(s: Session, input: unknown): Float32Array | string {
    if (!(input instanceof Float32Array)) return 'input must be a Float32Array of 1920 samples';
    if (input.length !== FRAME_SAMPLES) return `input must be ${FRAME_SAMPLES} samples, got ${input.length}`;
    let bad = 0;
    const frame = new Float32Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const v = input[i]!;
      if (v !== v || v === Infinity || v === -Infinity) {
        bad++;
        frame[i] = 0;
      } else frame[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    if (bad && !s.warnedBadAudio) {
      s.warnedBadAudio = true;
      this.log.warn({ persona: s.persona.id, samples: bad }, 'input frame had non-finite samples; treated as silence (warned once)');
    }
    return frame;
  }

  /** Resolves when everything the session may say is synthesised (tests and benches start from there). */
  async ready(session: SessionId): Promise<void> {
    await this.cache.settled(session);
  }

  /** What this session has said, newest last, with word timings on the session's frame count (in-thread only). */
  groundTruth(session: SessionId): UtteranceRecord[] {
    return this.sessions.get(session)?.history.map((r) => ({ ...r, words: [...r.words] })) ?? [];
  }

  /** The voice a session speaks with (in-thread only). */
  voiceOf(session: SessionId): EspeakVoice | undefined {
    return this.sessions.get(session)?.voice;
  }

  async close(session: SessionId): Promise<void> {
    this.sessions.get(session)?.understanding?.listener.close();
    this.sessions.get(session)?.ear.stop();
    if (!this.sessions.delete(session)) return;
    this.cache.release(session);
  }

  async dispose(): Promise<void> {
    this.sessions.clear();
    this.talkOverDecoders?.dispose();
    await Promise.all([this.vad.dispose(), this.tts.dispose(), this.recognizer?.then((r) => r.dispose(), () => {})]);
  }
}
