/**
 * A synthesised line laid out on the 80 ms frame grid: its audio, its text pieces (at most one per frame, each
 * at the frame where its word starts, or later when two words start in one frame) and its phonemes per frame.
 * Playback hands out one frame per step and can stop mid-line with a short fade.
 */
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import type { Synthesis } from './tts.ts';

export interface ScheduledWord {
  /** the piece sent, '▁' + the word */
  piece: string;
  /** sample where the word's audio starts */
  onset: number;
  /** frame holding the onset */
  onsetFrame: number;
  /** frame the piece is sent in; later than onsetFrame when an earlier word took that frame */
  frame: number;
}

export interface FramePhoneme {
  ipa: string;
  offset: number;
}

/** Ramp length when a line is cut off: long enough not to click, short against the 200 ms barge-in budget. */
export const FADE_SAMPLES = 120; // 5 ms

export class UtteranceLayout {
  readonly frames: number;
  readonly words: ScheduledWord[];
  private readonly pieces = new Map<number, string>();
  private readonly phonemes = new Map<number, FramePhoneme[]>();

  constructor(readonly synthesis: Synthesis) {
    let last = -1;
    this.words = synthesis.words.map((w) => {
      const onsetFrame = Math.floor(w.start / FRAME_SAMPLES);
      const frame = Math.max(onsetFrame, last + 1);
      last = frame;
      const piece = `▁${w.text}`;
      this.pieces.set(frame, piece);
      return { piece, onset: w.start, onsetFrame, frame };
    });
    for (const p of synthesis.phonemes) {
      const f = Math.floor(p.start / FRAME_SAMPLES);
      let list = this.phonemes.get(f);
      if (!list) this.phonemes.set(f, (list = []));
      list.push({ ipa: p.ipa, offset: p.start - f * FRAME_SAMPLES });
    }
    this.frames = Math.max(Math.ceil(synthesis.samples.length / FRAME_SAMPLES), last + 1);
  }

  pieceAt(frame: number): string | undefined {
    return this.pieces.get(frame);
  }

  phonemesAt(frame: number): FramePhoneme[] | undefined {
    return this.phonemes.get(frame);
  }

  /** Copy frame `i`'s audio into `out` (zeros past the end). */
  audioAt(frame: number, out: Float32Array) {
    const s = this.synthesis.samples;
    const from = frame * FRAME_SAMPLES;
    out.fill(0);
    if (from < s.length) out.set(s.subarray(from, Math.min(s.length, from + FRAME_SAMPLES)));
  }
}

export interface PlayedFrame {
  text?: string;
  phonemes?: FramePhoneme[];
}

/** Longest stretch a resumed line goes back over to start its word again; past that it carries on where it paused. */
const MAX_REWIND_SAMPLES = 14_400; // 600 ms

/**
 * One utterance being played out, from a sample cursor: one frame per step. It can pause (a short fade, then
 * silence, the cursor held) and resume from the start of the word it paused in, as a speaker who was talked over
 * picks up again. Text pieces go out once each, at most one per frame, in the frame where their word's audio has
 * started (or later); a resumed word's audio and phonemes play again, its piece is not sent twice.
 */
export class Playback {
  private cursor = 0;
  private nextWord = 0;
  private nextPhoneme = 0;
  private stopped = false;
  private paused = false;
  private fadeInNext = false;

  constructor(readonly layout: UtteranceLayout, readonly kind: string) {}

  get done(): boolean {
    return this.stopped || (this.cursor >= this.layout.frames * FRAME_SAMPLES && this.nextWord >= this.layout.words.length);
  }

  /** Frames of the line played so far (on the line's own grid: where the cursor is). */
  get position(): number {
    return Math.floor(this.cursor / FRAME_SAMPLES);
  }

  /** Samples of the line played so far (where the cursor is). */
  get playedSamples(): number {
    return this.cursor;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Fill `out` with the next frame (silence while paused). */
  play(out: Float32Array): PlayedFrame {
    if (this.done || this.paused) {
      out.fill(0);
      return {};
    }
    const from = this.cursor;
    const to = from + FRAME_SAMPLES;
    this.audio(from, out);
    if (this.fadeInNext) {
      for (let i = 0; i < FADE_SAMPLES; i++) out[i]! *= (i + 1) / FADE_SAMPLES;
      this.fadeInNext = false;
    }
    let text: string | undefined;
    const w = this.layout.words[this.nextWord];
    if (w && w.onset < to) {
      text = w.piece;
      this.nextWord++;
    }
    const ph = this.layout.synthesis.phonemes;
    while (this.nextPhoneme < ph.length && ph[this.nextPhoneme]!.start < from) this.nextPhoneme++;
    const phonemes: FramePhoneme[] = [];
    for (let k = this.nextPhoneme; k < ph.length && ph[k]!.start < to; k++) phonemes.push({ ipa: ph[k]!.ipa, offset: ph[k]!.start - from });
    this.cursor = to;
    return { ...(text ? { text } : {}), ...(phonemes.length ? { phonemes } : {}) };
  }

  /**
   * Stop at the start of the next frame: that frame fades the line out over FADE_SAMPLES, then silence. It
   * carries no text or phonemes, since no new word or sound starts in it.
   */
  stop(out: Float32Array) {
    this.fadeOut(out);
    this.stopped = true;
  }

  /** Pause at the start of the next frame (faded like a stop), holding the cursor. */
  pause(out: Float32Array) {
    this.fadeOut(out);
    if (!this.done) this.paused = true;
  }

  /**
   * Carry on after a pause, from the start of the word it paused in (unless that is more than 600 ms back),
   * faded in. `lookBack` samples: start from the word that was sounding that long before the pause instead —
   * what a listener's playout buffer held when the pause reached it was dropped (the 'paused' event), so the
   * word they last heard may be an earlier one. Returns how many samples of the line it went back over.
   */
  resume(lookBack = 0): number {
    if (!this.paused) return 0;
    this.paused = false;
    const heardUpTo = Math.max(1, this.cursor - Math.max(0, lookBack));
    let onset = -1;
    for (const w of this.layout.words) if (w.onset < heardUpTo) onset = w.onset;
    const back = onset >= 0 && this.cursor - onset <= MAX_REWIND_SAMPLES ? this.cursor - onset : 0;
    this.cursor -= back;
    this.nextPhoneme = 0; // phonemes from the cursor on are found again in play()
    this.fadeInNext = true;
    return back;
  }

  private fadeOut(out: Float32Array) {
    if (this.done || this.paused) {
      out.fill(0);
      return;
    }
    this.audio(this.cursor, out);
    for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = i < FADE_SAMPLES ? out[i]! * (1 - (i + 1) / FADE_SAMPLES) : 0;
  }

  private audio(from: number, out: Float32Array) {
    const s = this.layout.synthesis.samples;
    out.fill(0);
    if (from < s.length) out.set(s.subarray(from, Math.min(s.length, from + FRAME_SAMPLES)));
  }
}
