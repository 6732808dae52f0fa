/**
 * Captions for one NPC voice: each word appears when it is heard (on the voice's samples-played clock, the same
 * clock as lip-sync), the line restarts when it gets too long, and it clears after a pause. Games that draw their
 * own subtitles listen to the observables; `attachCaptionOverlay` (overlay.ts) is a ready-made HTML line.
 *
 * A word is heard at (frame of its first piece + the engine's text lead) × 1920 + half a frame, the same rule the
 * server's viseme timeline uses; the lead comes from the server's Welcome message.
 */
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { WordAssembler, wordStartSample, type AssembledWord } from '../../protocol/pieces.ts';
import { EachFrame, type SceneLike } from '../lipsync/each-frame.ts';

export interface CaptionClock {
  readonly streamPosition: number;
}

export interface CaptionWordEvent {
  /** sequence number of the word on this stream */
  index: number;
  /** the word as written, with its punctuation ("reactor,") */
  word: string;
  /** stream sample at which it is heard */
  at: number;
  /** true when an already-shown word grew (a later piece of it arrived) */
  revised: boolean;
}

export interface CaptionEvent {
  /** the whole caption line now ('' when cleared) */
  text: string;
}

export interface NpcCaptionsOptions {
  clock: CaptionClock;
  /** the engine's text-to-audio lead in frames (Welcome.lead) */
  leadFrames: number;
  /** clear the line after this long without a new word, ms of render time (default 2500) */
  clearAfterMs?: number;
  /** start a new line rather than grow past this many characters (default 84) */
  maxChars?: number;
}

interface Pending {
  word: AssembledWord;
  at: number;
  shownText?: string;
}

const SENTENCE_END = /[.!?…]["')\]]*$/;

export class NpcCaptions {
  readonly onWordObservable = new Observable<CaptionWordEvent>();
  readonly onCaptionObservable = new Observable<CaptionEvent>();
  private readonly clock: CaptionClock;
  private readonly lead: number;
  private readonly clearAfterMs: number;
  private readonly maxChars: number;
  private readonly assembler = new WordAssembler();
  /** words received, in order, not yet shown or shown and still on the line */
  private queue: Pending[] = [];
  private line: Pending[] = [];
  private sinceWordMs = 0;
  private shown = '';
  private readonly frames = new EachFrame((dt) => this.update(dt));

  constructor(opts: NpcCaptionsOptions) {
    if (!opts?.clock) throw new TypeError('NpcCaptions needs { clock, leadFrames }');
    if (!Number.isInteger(opts.leadFrames) || opts.leadFrames < 0) {
      throw new RangeError(`NpcCaptions: leadFrames must be a non-negative integer, got ${opts.leadFrames}`);
    }
    this.clock = opts.clock;
    this.lead = opts.leadFrames;
    this.clearAfterMs = opts.clearAfterMs ?? 2500;
    this.maxChars = opts.maxChars ?? 84;
  }

  /** The caption line shown now. */
  get text(): string {
    return this.shown;
  }

  /** A text piece from the NPC's stream, with the frame index it came with. */
  addPiece(frameIndex: number, piece: string): void {
    if (!Number.isFinite(frameIndex) || typeof piece !== 'string') return;
    for (const u of this.assembler.push(frameIndex, piece)) {
      if (u.started) this.queue.push({ word: u.word, at: wordStartSample(u.word.frame, this.lead) });
    }
  }

  /** The NPC was interrupted: words not yet heard are dropped (default: from the current playhead). */
  flush(atSample: number = this.clock.streamPosition): void {
    this.queue = this.queue.filter((p) => p.at < atSample);
    this.assembler.close();
  }

  /** One render frame: reveal the words now audible, grow revised ones, clear after a pause. */
  update(deltaMs: number): void {
    const pos = this.clock.streamPosition;
    let changed = false;
    while (this.queue.length && this.queue[0].at <= pos) {
      const p = this.queue.shift()!;
      this.startNewLineIfFull(p.word.text);
      this.line.push(p);
      p.shownText = p.word.text;
      this.onWordObservable.notifyObservers({ index: p.word.index, word: p.word.text, at: p.at, revised: false });
      this.sinceWordMs = 0;
      changed = true;
    }
    for (const p of this.line) {
      if (p.shownText !== p.word.text) {
        p.shownText = p.word.text;
        this.onWordObservable.notifyObservers({ index: p.word.index, word: p.word.text, at: p.at, revised: true });
        changed = true;
      }
    }
    if (!changed && this.line.length) {
      this.sinceWordMs += Number.isFinite(deltaMs) && deltaMs > 0 ? deltaMs : 0;
      if (this.sinceWordMs >= this.clearAfterMs) {
        this.line = [];
        changed = true;
      }
    }
    if (changed) this.publish();
  }

  /** Run `update` before every render of `scene`. */
  attach(scene: SceneLike): this {
    this.frames.attach(scene);
    return this;
  }

  detach(): void {
    this.frames.detach();
  }

  dispose(): void {
    this.detach();
    this.queue = [];
    this.line = [];
    this.publish();
    this.onWordObservable.clear();
    this.onCaptionObservable.clear();
  }

  private startNewLineIfFull(next: string): void {
    const current = this.line.map((p) => p.word.text).join(' ');
    const last = this.line[this.line.length - 1]?.word.text ?? '';
    const tooLong = current.length + 1 + next.length > this.maxChars;
    const sentenceDone = SENTENCE_END.test(last) && current.length > this.maxChars / 2;
    if (this.line.length && (tooLong || sentenceDone)) this.line = [];
  }

  private publish(): void {
    const text = this.line.map((p) => p.word.text).join(' ');
    if (text === this.shown) return;
    this.shown = text;
    this.onCaptionObservable.notifyObservers({ text });
  }
}
