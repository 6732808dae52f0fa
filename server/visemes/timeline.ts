/**
 * One NPC voice stream's lip-sync: text pieces in, timed viseme keys out, tied to the stream's frame indices.
 *
 * A word starts at (frame of its first piece + the engine's text lead) × 1920 + `wordOffset` samples. Until the next
 * word arrives its visemes are provisional (nominal durations, capped, then `sil`); the next word's start fixes its
 * end and the word is re-sent from its start. Every track returned replaces the client's keys from `track.from` on.
 */
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import type { VisemeKey, VisemeTrack } from '../../protocol/visemes.ts';
import { phonesToSpans, SIL, type VisemeSpan } from './arpabet.ts';
import { DEFAULT_WORD_OFFSET, WordAssembler, wordStartSample, type AssembledWord } from '../../protocol/pieces.ts';
import { loadPronunciations, pronounce, type PauseHint } from './pronounce.ts';
import { layoutWord, RateEstimator, type LayoutOptions } from './timing.ts';

export interface VisemeTimelineOptions {
  /** the engine's declared text-to-audio lead, in frames */
  leadFrames: number;
  /**
   * Where in its frame a word is taken to start, in samples from the frame's start. A piece only says which 80 ms
   * frame the word starts in; the default is measured (see docs/lipsync.md).
   */
  wordOffset?: number;
  /** longest one viseme is held, ms (default 180) */
  capMs?: number;
  /** how far past nominal a word may stretch towards the next word (default 1.6; 1.15 before punctuation) */
  maxStretch?: number;
  pauseStretch?: number;
  /** follow the speaker's rate from finished words (default true) */
  adaptRate?: boolean;
}

export { DEFAULT_WORD_OFFSET };

interface TimedWord {
  /** usually one word; several when one piece held several words (they share its frame, so are timed as one) */
  words: AssembledWord[];
  start: number;
  end?: number;
  spans: VisemeSpan[];
  nominalMs: number;
  pause: PauseHint;
  /** keys last sent for this word */
  sent?: VisemeKey[];
}

const sameKeys = (a: readonly VisemeKey[] | undefined, b: readonly VisemeKey[]): boolean =>
  !!a && a.length === b.length && a.every((k, i) => k.at === b[i].at && k.v === b[i].v);

export class VisemeTimeline {
  private readonly lead: number;
  private readonly wordOffset: number;
  private readonly capMs: number;
  private readonly maxStretch: number;
  private readonly pauseStretch: number;
  private readonly rate: RateEstimator | undefined;
  private readonly assembler = new WordAssembler();
  /** the last finished word (its end may still be revised by `current`'s arrival) and the word being spoken */
  private previous: TimedWord | undefined;
  private current: TimedWord | undefined;
  private cutAt: number | undefined;
  private lastFrame = -Infinity;

  constructor(opts: VisemeTimelineOptions) {
    if (!Number.isInteger(opts?.leadFrames) || opts.leadFrames < 0) {
      throw new RangeError(`VisemeTimeline: leadFrames must be a non-negative integer, got ${opts?.leadFrames}`);
    }
    this.lead = opts.leadFrames;
    this.wordOffset = clamp(opts.wordOffset ?? DEFAULT_WORD_OFFSET, 0, FRAME_SAMPLES - 1);
    this.capMs = opts.capMs ?? 180;
    this.maxStretch = opts.maxStretch ?? 1.6;
    this.pauseStretch = opts.pauseStretch ?? 1.15;
    this.rate = opts.adaptRate === false ? undefined : new RateEstimator();
    // the dictionary loads in the background; words before it lands go through the letter-to-sound rules
    void loadPronunciations().catch(() => undefined);
  }

  /**
   * Called once per NPC output frame, in order, with that frame's text piece if any. Returns the keys to send with
   * this frame, or undefined when nothing changed. A frame index that is not a non-negative integer throws a
   * RangeError; one that goes back restarts the timeline (a new stream).
   */
  onFrame(frameIndex: number, piece?: string): VisemeTrack | undefined {
    if (!Number.isInteger(frameIndex) || frameIndex < 0) {
      throw new RangeError(`VisemeTimeline.onFrame: frameIndex must be a non-negative integer, got ${frameIndex}`);
    }
    // frames going back mean the stream restarted (a new session on this NPC): start afresh, never throw mid-tick
    if (frameIndex <= this.lastFrame) this.restart();
    this.lastFrame = frameIndex;

    const touched = new Set<TimedWord>();
    if (typeof piece === 'string' && piece.length > 0) {
      for (const update of this.assembler.push(frameIndex, piece)) {
        if (update.started && this.current && this.current.words[0].frame === update.word.frame) {
          this.current.words.push(update.word);
          this.pronounceInto(this.current);
        } else if (update.started) {
          const start = wordStartSample(update.word.frame, this.lead, this.wordOffset);
          if (this.current) {
            this.finish(this.current, start);
            touched.add(this.current);
          }
          this.previous = this.current;
          this.current = this.timed(update.word, start);
        } else if (this.current) {
          this.pronounceInto(this.current);
        }
        if (this.current) touched.add(this.current);
      }
    }
    return this.emit([...touched]);
  }

  /** The NPC was interrupted at this frame: words not yet heard are dropped, the word being heard is cut there. */
  interrupt(frameIndex: number): void {
    if (!Number.isFinite(frameIndex) || frameIndex < 0) return;
    const cut = Math.floor(frameIndex) * FRAME_SAMPLES;
    this.assembler.close();
    this.previous = undefined;
    this.current = undefined;
    this.rate?.reset();
    this.cutAt = this.cutAt === undefined ? cut : Math.min(this.cutAt, cut);
  }

  private restart(): void {
    this.assembler.close();
    this.previous = undefined;
    this.current = undefined;
    this.cutAt = undefined;
    this.rate?.reset();
  }

  private timed(word: AssembledWord, start: number): TimedWord {
    const w: TimedWord = { words: [word], start, spans: [], nominalMs: 0, pause: 'none' };
    this.pronounceInto(w);
    return w;
  }

  private pronounceInto(w: TimedWord): void {
    const said = w.words.map((word) => pronounce(word.text));
    w.spans = phonesToSpans(said.flatMap((p) => p.phones));
    w.nominalMs = w.spans.reduce((a, s) => a + s.ms, 0);
    w.pause = said[said.length - 1].pause;
  }

  private finish(w: TimedWord, end: number): void {
    w.end = end;
    if (w.pause === 'none') this.rate?.observe(w.nominalMs, (end - w.start) / (FRAME_SAMPLES / 80));
  }

  private layout(w: TimedWord): VisemeKey[] {
    const opts: LayoutOptions = {
      capMs: this.capMs,
      maxStretch: w.pause === 'none' ? this.maxStretch : this.pauseStretch,
      rate: this.rate?.rate ?? 1,
    };
    return layoutWord(w.spans, w.start, opts, w.end);
  }

  private emit(touched: TimedWord[]): VisemeTrack | undefined {
    const cut = this.cutAt;
    this.cutAt = undefined;
    const changed = touched
      .map((w) => ({ w, keys: this.layout(w) }))
      .filter(({ w, keys }) => cut !== undefined || !sameKeys(w.sent, keys));
    if (changed.length === 0 && cut === undefined) return undefined;
    for (const { w, keys } of changed) w.sent = keys;
    changed.sort((a, b) => a.w.start - b.w.start);
    const keys = changed.flatMap((c) => c.keys);
    if (cut !== undefined) keys.unshift({ at: cut, v: SIL });
    const from = cut ?? changed[0].w.start;
    return { from, keys: keys.filter((k) => k.at >= from) };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : lo;
}
