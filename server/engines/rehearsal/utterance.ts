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

/** One utterance being played out. */
export class Playback {
  private next = 0;
  private stopped = false;

  constructor(readonly layout: UtteranceLayout, readonly kind: string) {}

  get done(): boolean {
    return this.stopped || this.next >= this.layout.frames;
  }

  /** Frames played so far. */
  get position(): number {
    return this.next;
  }

  /** Fill `out` with the next frame. */
  play(out: Float32Array): PlayedFrame {
    if (this.done) {
      out.fill(0);
      return {};
    }
    const i = this.next++;
    this.layout.audioAt(i, out);
    const text = this.layout.pieceAt(i);
    const phonemes = this.layout.phonemesAt(i);
    return { ...(text ? { text } : {}), ...(phonemes ? { phonemes } : {}) };
  }

  /**
   * Stop at the start of the next frame: that frame fades the line out over FADE_SAMPLES, then silence. It
   * carries no text or phonemes, since no new word or sound starts in it.
   */
  stop(out: Float32Array) {
    if (this.done) {
      out.fill(0);
      this.stopped = true;
      return;
    }
    this.layout.audioAt(this.next, out);
    for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = i < FADE_SAMPLES ? out[i]! * (1 - (i + 1) / FADE_SAMPLES) : 0;
    this.stopped = true;
  }
}
