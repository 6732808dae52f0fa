/**
 * The rehearsal NPC's turn-taking, one decision per 80 ms frame, from two numbers the VAD gives (how long the
 * player has been speaking, how long it has been quiet) and whether the NPC's own audio has finished. Pure and
 * clock-free: time is frames × 80 ms, so the same input gives the same decisions.
 *
 *   greet     a player arrives and nobody is talking → greeting
 *   answer    the player spoke, then was quiet long enough → next line (after-interruption line if it cut us off).
 *             How long depends on how final the speech before the silence sounded (`turnEnd`, from prosody.ts):
 *             endOfTurnMs when it sounded finished, holdMs when it sounded like a mid-sentence pause.
 *   barge-in  the player speaks for bargeInMs while the NPC talks (bits less than bargeInGapMs apart add up)
 *             → stop now, report 'interrupted'. Shorter sounds ("yeah", "okay") are a listener's backchannel:
 *             the NPC carries on. In an answer's first earlyWindowMs, earlyBargeInMs is enough: the player
 *             went on after a pause the NPC took for the end of the turn, and it backs off at once.
 *   hesitate  (hesitateMs > 0) the player's first hesitateMs over the NPC (speech, or the VAD's first unsure
 *             windows of a word starting: Hearing.onsetMs) make it pause at once, as a person does when talked
 *             over; it stops for good (barge-in) if they keep on to bargeInMs, and picks up from the word it
 *             paused in once they have been quiet for resumeAfterMs and it has held at least that long (a cough,
 *             a click, a short sound). So the stop a player hears comes at the first sign of speech, and what
 *             turns out not to be a barge-in costs a short pause, not the line. The engine may overrule that
 *             resume when the words were not a listener's backchannel ("stop", "wait": yieldNow).
 *   backchannel  a long player turn pauses briefly, sounding unfinished → a short acknowledgement, the turn stays
 *             the player's
 *             (once greeted; a pause that turns out to be the end of the turn gets the answer right after it)
 *
 *   floor elsewhere  in a group, the scene gave the player's turn to another NPC: it yields as ever but answers,
 *             greets and backchannels nothing until the floor comes back.
 *
 * The NPC never starts an utterance while one is playing, and speaks a line only after a player turn.
 */
import { FRAME_MS } from '../../../protocol/frame.ts';

export interface TurnTakingOptions {
  /** quiet after the player's speech before the NPC takes the turn, when that speech sounded finished */
  endOfTurnMs?: number;
  /** quiet needed instead when the speech sounded unfinished (a mid-sentence pause) */
  holdMs?: number;
  /** turn-end probability (Hearing.turnEnd) at or above which the speech counts as finished */
  turnEndThreshold?: number;
  /**
   * ... and the player's voice must have been under its own level floor this long too (Hearing.voice): Silero
   * calls silence while a word's soft tail still sounds, so the VAD's silence alone can start an answer 0.2 s after
   * the last sound, into a comma pause. Never past holdMs of the VAD's silence, whatever the level says
   */
  voiceEndMs?: number;
  /** player speech needed to count as a turn (shorter sounds are ignored) */
  minSpeechMs?: number;
  /** player speech that makes a talking NPC yield (bits of speech less than bargeInGapMs apart add up) */
  bargeInMs?: number;
  /** quiet that separates one bit of player speech from the next when adding them up for a barge-in */
  bargeInGapMs?: number;
  /** in the first earlyWindowMs of an utterance, this much speech is enough: both started at once, the NPC backs off */
  earlyBargeInMs?: number;
  earlyWindowMs?: number;
  /** player speech (or likely speech starting) over a talking NPC that makes it pause until it knows which it
   * was (0: no pausing) */
  hesitateMs?: number;
  /**
   * With a judge of words (the engine's talk-over ear, `judgesWords`): speech over the NPC from bargeInMs up to
   * this long keeps it paused until the speech ends, and its words decide: a listener's backchannel lets the line
   * go on, anything else ends it as the barge-in would have. Longer speech is a barge-in whatever it says.
   */
  backchannelMaxMs?: number;
  /** quiet after which a paused NPC carries on (the speech over it was shorter than a barge-in) */
  resumeAfterMs?: number;
  /**
   * ... instead, when what it paused for was shorter than minSpeechMs (a cough, a click, or the first sound of a
   * word that a loudspeaker player's echo canceller is still masking); never shorter than resumeAfterMs
   */
  resumeAfterShortMs?: number;
  /**
   * After a sound too short to be speech (the resumeAfterShortMs case), a paused NPC does not carry on while the
   * hearing mix is still as loud as a voice (Hearing.sinceLoudMs under resumeAfterMs), up to this long after the
   * pause; 0: the VAD alone decides
   */
  pauseHoldMaxMs?: number;
  /** quiet needed after the session opens before the NPC greets */
  greetAfterMs?: number;
  /** a player turn at least this long may get a backchannel ... */
  backchannelAfterMs?: number;
  /** ... at a pause at least this long (and shorter than endOfTurnMs) ... */
  backchannelPauseMs?: number;
  /** ... at most once per this interval */
  backchannelGapMs?: number;
}

export const DEFAULT_TURN_TAKING: Required<TurnTakingOptions> = {
  // Twelve of the VAD's 32 ms windows, which five 80 ms frames of quiet always hold (a frame carries 2 or 3 windows).
  // 400 needed a thirteenth, which five frames hold only at one phase, so about half the answers waited a sixth frame
  // (engine-only median answer 440 → 367 ms, bench turns). 320 (four frames) answered into a 300 ms gap between a
  // player's two sentences (tests/scenes/group.test.ts).
  endOfTurnMs: 384,
  holdMs: 1600,
  turnEndThreshold: 0.55,
  // Engine-only turns bench: NPC voice started in 4 of 27 comma pauses of 0.3 s at 0, 1 at 352, 0 at 384; the median
  // answer 367 ms at 0 and 352, 386 ms at 384 (the answers it delays were the quickest, 0.19–0.32 s).
  voiceEndMs: 352,
  minSpeechMs: 96,
  // A fast, sure yield wins over carrying on through a listener's "yeah". 640 ms (with the hesitation below) lets
  // "yeah", "okay", "uh huh", "I see" pass after a pause (Full-Duplex-Bench v1.5's "resume"; 3 of 33 still ended
  // the line through the server), but a player's lone "Stop." or "Wait." (0.2–0.7 s of voice, as long as those
  // tokens) then only pauses the line, a "Sorry to interrupt, but listen" brings it back in its comma pause, and on
  // loudspeakers 5 of 20 double-talk cuts missed (docs/rehearsal-engine.md, stop 28). Telling them apart needs
  // the words, not their length.
  bargeInMs: 96,
  // A listener's "yeah", "okay", "uh huh", "I see" is 0.2–0.8 s of voice (bench/support/speakers.ts voices; the
  // VAD hears a little more): at 640 ms the slow voices' "okay" and "I see" ended the line by length alone. A
  // multi-word interruption reaches this sooner or later, and a lone "stop" is told apart by its words.
  backchannelMaxMs: 800,
  bargeInGapMs: 320,
  earlyBargeInMs: 160,
  earlyWindowMs: 700,
  // One VAD window: the NPC falls quiet at the first sign of the player's voice, in the frame it starts in when
  // Silero's first windows of the word reach 0.3. Barge-in still takes bargeInMs of speech; anything shorter is
  // a pause that lasts until resumeAfterMs of quiet, and the line goes on from the word it paused in.
  hesitateMs: 32,
  // Longer than the comma pauses inside an interruption ("wait, wait, stop": 140–200 ms of quiet to the VAD), so
  // the line does not come back for a word between them. Prosody did not tell a "yeah." from a "wait," here
  // reliably enough to resume sooner.
  resumeAfterMs: 280,
  // A player on loudspeakers who starts talking over the NPC is masked by their echo canceller until the NPC's voice
  // has stopped coming back: one round trip after the pause (network, playout, room). Through the canceller the VAD
  // may hear only the first sound of their word, then up to 0.6 s of nothing, and at 280 ms the line came back for
  // a syllable (echo bench, double talk: 1–2 of 20 cuts stopped only at about 680 ms, in most runs; at 560 ms in 2 of
  // 23 runs; at 640 in none of 14). After a sound too short to be speech (minSpeechMs) the line waits that round
  // trip; a "yeah" is longer and resumes after resumeAfterMs. The price: a cough or click pauses the line 0.64 s.
  resumeAfterShortMs: 640,
  // A player on loudspeakers starting over the NPC: the canceller can take their first syllables far down, and
  // Silero then scores the clear speech that follows as silence for most of a second (its state carried over), so
  // the pause ran out and the line came back over the player, until later words stopped it: 1.1 s instead of
  // 0.1 (bench echo, double talk, one or two cuts of 20 on some NPC voices). The level still says someone is there.
  // A bound, so that a loud room (a television) costs a pause, not the line.
  pauseHoldMaxMs: 1500,
  greetAfterMs: 480,
  backchannelAfterMs: 4000,
  backchannelPauseMs: 160,
  backchannelGapMs: 4000,
};

export type UtteranceKind = 'greeting' | 'line' | 'afterInterruption' | 'backchannel';

export interface Hearing {
  /** ms of the player's current run of speech (0 when quiet) */
  speechMs: number;
  /** ms the player has been quiet (0 while speaking) */
  silenceMs: number;
  /** ms of the VAD's last ~100 ms of windows that may be speech starting (vad.ts onsetMs; absent: not measured) */
  onsetMs?: number;
  /** ms since the hearing mix was last as loud as a voice at the microphone, whatever the VAD made of it (vad.ts
   * sinceLoudMs; absent: not measured) */
  sinceLoudMs?: number;
  /**
   * During a silence: how likely the speech before it ended the player's turn, 0–1 (prosody.ts). Absent when
   * not measured: the silence then counts as an end of turn after endOfTurnMs, as if it had sounded finished.
   */
  turnEnd?: number;
  /**
   * The player's voice by its level (prosody.ts ProsodyTracker): quietMs() is how long it has been under its own
   * floor. Asked only once the VAD's silence would end the turn (it sorts the hops kept); absent: not measured.
   */
  voice?: { quietMs(): number };
}

export interface TurnDecision {
  /** start this utterance at this frame */
  say?: UtteranceKind;
  /** stop the current utterance at this frame (barge-in) */
  interrupt?: boolean;
  /** hold the current utterance here, silent, until `resume` or `interrupt` */
  pause?: boolean;
  /** carry on with the paused utterance */
  resume?: boolean;
  /**
   * With `resume`: the voice it paused for was long enough to be a barge-in (bargeInMs), so it carries on only if
   * the words were a backchannel; otherwise call `yieldNow()` and apply its decision instead.
   */
  ifBackchannel?: boolean;
}

export type NpcActivity = 'silent' | 'speaking' | 'backchannel';

export class TurnTaking {
  private readonly o: Required<TurnTakingOptions>;
  private nowMs = 0;
  private activity: NpcActivity = 'silent';
  private greeted = false;
  private interrupted = false;
  /** a player turn is open: they spoke and the NPC has not answered yet */
  private playerTurn = false;
  private playerTurnStartMs = 0;
  private lastBackchannelMs = -Infinity;
  private utteranceStartMs = 0;
  private answering = false;
  /** player speech heard over the current utterance, in runs already ended, and the run going on */
  private overHeldMs = 0;
  private overRunMs = 0;
  /** the current utterance is paused (hesitating), since pausedAtMs */
  private paused = false;
  private pausedAtMs = 0;
  /** most player speech counted over the utterance during this pause */
  private pausedOverMs = 0;
  /** the engine can judge the words of a voice it paused for (backchannelMaxMs applies) */
  private readonly judgesWords: boolean;

  constructor(options: TurnTakingOptions = {}, opts: { judgesWords?: boolean } = {}) {
    this.o = { ...DEFAULT_TURN_TAKING, ...options };
    this.judgesWords = opts.judgesWords === true && this.o.hesitateMs > 0;
    for (const [k, v] of Object.entries(this.o)) {
      if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new Error(`turn-taking option ${k} must be a number ≥ 0, got ${v}`);
    }
  }

  get state(): NpcActivity {
    return this.activity;
  }

  /**
   * One frame. `playbackDone` says the NPC's current utterance has played out (or nothing is playing).
   * `floorElsewhere`: the scene gave the player's turn to another NPC (server/scenes/floor.ts); the NPC still
   * yields when talked over, but does not answer that turn, greet into it or backchannel.
   * Call after the VAD has heard this frame.
   */
  step(h: Hearing, playbackDone: boolean, floorElsewhere = false): TurnDecision {
    this.nowMs += FRAME_MS;
    if (this.activity !== 'silent' && playbackDone) this.activity = 'silent';
    const playerSpeaking = h.speechMs >= this.o.minSpeechMs;

    if (this.activity === 'speaking') {
      const over = this.overBy(h);
      if (this.paused) this.pausedOverMs = Math.max(this.pausedOverMs, over);
      const starting = (h.speechMs > 0 && over >= this.o.hesitateMs) || (h.onsetMs ?? 0) >= this.o.hesitateMs;
      // With a judge of words the NPC pauses first even for a voice already as long as a barge-in when first heard
      // (a soft onset the VAD confirms late, all at once): its words decide, as for any short voice.
      if (this.judgesWords && !this.paused && starting) return this.pause(over);
      // with a judge of words a paused NPC waits for the end of a short voice: it may be a listener's "yeah"
      const limit = this.judgesWords && this.paused ? Math.max(this.bargeInNow(), this.o.backchannelMaxMs) : this.bargeInNow();
      // Only on a frame with speech: just after a resume the limit drops back to bargeInMs while the voice it resumed
      // after is still held (bits add up for bargeInGapMs); that quiet is not a barge-in, more speech would be.
      if (over >= limit && h.speechMs > 0) {
        this.activity = 'silent';
        this.paused = false;
        this.interrupted = true;
        this.openTurn(h);
        return { interrupt: true };
      }
      if (this.o.hesitateMs > 0 && !this.paused && starting) return this.pause(over);
      // Quiet for resumeAfterMs (resumeAfterShortMs after a sound too short to be speech), counted from the pause at
      // the earliest: a silence that began before an unsure onset (no speech followed) must not bring the line
      // straight back.
      if (this.paused && !(h.onsetMs ?? 0)) {
        const short = this.pausedOverMs < this.o.minSpeechMs;
        const wait = short ? Math.max(this.o.resumeAfterMs, this.o.resumeAfterShortMs) : this.o.resumeAfterMs;
        const pausedMs = this.nowMs - this.pausedAtMs;
        // only after a sound too short to be speech: a voice the VAD followed for a word was a voice it can tell ended
        const stillLoud = short && (h.sinceLoudMs ?? Infinity) < this.o.resumeAfterMs && pausedMs < this.o.pauseHoldMaxMs;
        if (h.silenceMs >= wait && pausedMs >= wait && !stillLoud) {
          this.paused = false;
          return this.pausedOverMs >= this.bargeInNow() ? { resume: true, ifBackchannel: true } : { resume: true };
        }
      }
      return {};
    }
    this.paused = false;
    // Speech heard while the NPC backchannels belongs to the player's ongoing turn; so does any when silent.
    if (playerSpeaking && !this.playerTurn) this.openTurn(h);
    if (this.activity === 'backchannel') return {};

    if (this.playerTurn && h.silenceMs >= this.endOfTurnWait(h) && (h.silenceMs >= this.o.holdMs || (h.voice?.quietMs() ?? Infinity) >= this.o.voiceEndMs)) {
      this.playerTurn = false;
      if (floorElsewhere) {
        // another NPC answers this turn: listen on (and an utterance the player cut off is not apologised for)
        this.interrupted = false;
        return {};
      }
      const say: UtteranceKind = this.interrupted ? 'afterInterruption' : this.greeted ? 'line' : 'greeting';
      this.interrupted = false;
      return this.start(say);
    }
    if (floorElsewhere) return {};
    if (!this.greeted && !this.playerTurn && h.silenceMs >= this.o.greetAfterMs) return this.start('greeting');
    if (
      this.playerTurn &&
      this.greeted &&
      this.nowMs - this.playerTurnStartMs >= this.o.backchannelAfterMs &&
      h.silenceMs >= this.o.backchannelPauseMs &&
      // Only where the player sounded unfinished: where they sounded done, the answer is due instead.
      !(h.turnEnd !== undefined && h.turnEnd >= this.o.turnEndThreshold) &&
      this.nowMs - this.lastBackchannelMs >= this.o.backchannelGapMs
    ) {
      this.lastBackchannelMs = this.nowMs;
      this.activity = 'backchannel';
      return { say: 'backchannel' };
    }
    return {};
  }

  private pause(over: number): TurnDecision {
    this.paused = true;
    this.pausedAtMs = this.nowMs;
    this.pausedOverMs = over;
    return { pause: true };
  }

  /** Player speech heard over the NPC so far, short gaps bridged: "wait, stop, I have a question" adds up. */
  private overBy(h: Hearing): number {
    if (h.speechMs > 0) {
      this.overRunMs = h.speechMs;
    } else {
      this.overHeldMs += this.overRunMs;
      this.overRunMs = 0;
      if (h.silenceMs >= this.o.bargeInGapMs) this.overHeldMs = 0;
    }
    return this.overHeldMs + this.overRunMs;
  }

  private bargeInNow(): number {
    // Only an answer can have been a mistake about the end of the turn; a greeting cannot.
    const early = this.answering && this.nowMs - this.utteranceStartMs <= this.o.earlyWindowMs;
    return early ? Math.min(this.o.bargeInMs, this.o.earlyBargeInMs) : this.o.bargeInMs;
  }

  /** Quiet needed before taking the turn: short after speech that sounded finished, long after a mid-sentence pause. */
  private endOfTurnWait(h: Hearing): number {
    if (h.turnEnd === undefined || h.turnEnd >= this.o.turnEndThreshold) return this.o.endOfTurnMs;
    return Math.max(this.o.endOfTurnMs, this.o.holdMs);
  }

  /**
   * The voice the NPC paused for, and would now carry on after, was not a listener's backchannel (its words said
   * so: talk-over-ear.ts): give the line up as a barge-in does. Returns the decision to apply instead of `resume`.
   */
  yieldNow(): TurnDecision {
    if (this.activity !== 'speaking') return {};
    this.activity = 'silent';
    this.paused = false;
    this.interrupted = true;
    // their turn began with the voice the NPC paused for
    this.playerTurn = true;
    this.playerTurnStartMs = this.pausedAtMs;
    return { interrupt: true };
  }

  /**
   * The player spoke over an utterance the NPC kept to its end (a 'hold' policy, interruption-policy.ts): their
   * turn is open and is answered with a line once they have been quiet long enough.
   */
  heardOver() {
    if (!this.playerTurn) this.playerTurnStartMs = this.nowMs;
    this.playerTurn = true;
    this.interrupted = false;
  }

  /** The utterance chosen could not be spoken (e.g. nothing to say): back to listening. */
  cancel() {
    this.activity = 'silent';
  }

  private openTurn(h: Hearing) {
    this.playerTurn = true;
    this.playerTurnStartMs = this.nowMs - h.speechMs;
  }

  private start(say: UtteranceKind): TurnDecision {
    if (say === 'greeting') this.greeted = true;
    this.activity = 'speaking';
    this.paused = false;
    this.utteranceStartMs = this.nowMs;
    this.answering = say !== 'greeting';
    this.overHeldMs = 0;
    this.overRunMs = 0;
    return { say };
  }
}
