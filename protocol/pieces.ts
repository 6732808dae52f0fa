/**
 * Text pieces → words. A piece follows the model's SentencePiece convention: '▁' (or a plain space, as the
 * PersonaPlex server sends it) starts a word; a piece without it continues the current word ("▁re" "act" "or").
 * Punctuation never starts a word, even after a boundary ("▁," belongs to the word before it).
 *
 * Part of the wire convention for text pieces, so both ends share it: the server's viseme timeline and the
 * plugin's captions assemble words with it.
 */

import { FRAME_SAMPLES } from './frame.ts';

/** Half a frame: a piece says which 80 ms frame its word starts in, so the middle is the unbiased guess. */
export const DEFAULT_WORD_OFFSET = FRAME_SAMPLES / 2;

/**
 * Where a word whose first piece came in frame `frame` is heard on the stream, in samples: the frame plus the
 * engine's text-to-audio lead, plus `wordOffset` into that frame. Lip-sync and captions use the same rule.
 */
export function wordStartSample(frame: number, leadFrames: number, wordOffset = DEFAULT_WORD_OFFSET): number {
  return (frame + leadFrames) * FRAME_SAMPLES + wordOffset;
}

export interface AssembledWord {
  /** sequence number of the word on this stream, from 0 */
  index: number;
  /** written text so far, boundary markers removed ("reactor,") */
  text: string;
  /** frame index of the word's first piece */
  frame: number;
}

export interface WordUpdate {
  word: AssembledWord;
  /** true when this piece started the word; false when it extended it */
  started: boolean;
}

const BOUNDARY = /[▁\s]/;
const SPEAKABLE = /[\p{L}\p{N}]/u;
/** marks that open what follows when they come after a boundary ("▁\"" "Go") */
const OPENING = /^[\p{Ps}\p{Pi}"'¿¡]+$/u;

/** SentencePiece control pieces: PersonaPlex sends BOS/EOS as text like any piece (its server skips only 0 and 3). */
const CONTROL = /^<(?:s|\/s|unk|pad)>$/;
const BYTE = /<0x([0-9A-Fa-f]{2})>/g;

/**
 * What a piece says, as text: control pieces ('<s>', '</s>') say nothing; byte-fallback pieces ('<0x0A>') are
 * the byte they stand for when it is printable ASCII, a word boundary when it is white space, and nothing
 * otherwise (a lone UTF-8 fragment is not text). Never the literal markup.
 */
export function spokenText(piece: string): string {
  if (CONTROL.test(piece)) return '';
  return piece.replace(BYTE, (_, hex: string) => {
    const c = parseInt(hex, 16);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return ' ';
    return c > 0x20 && c < 0x7f ? String.fromCharCode(c) : '';
  });
}

export class WordAssembler {
  private current: AssembledWord | undefined;
  /** a boundary came after the current word's last speakable chunk: the next speakable chunk starts a word */
  private boundary = false;
  /** opening marks waiting for the word they open */
  private prefix = '';
  private next = 0;

  /** The word still open to continuation pieces, if any. */
  get open(): AssembledWord | undefined {
    return this.current;
  }

  /**
   * Feed one piece from frame `frame`. Returns the words it started or extended, in order (usually one; a piece
   * holding several boundaries gives several). Empty and boundary-only pieces give none.
   */
  push(frame: number, piece: string): WordUpdate[] {
    const updates: WordUpdate[] = [];
    piece = spokenText(piece);
    piece.split(BOUNDARY).forEach((chunk, i) => {
      if (i > 0) this.boundary = true;
      if (!chunk) return;
      if (SPEAKABLE.test(chunk) && (!this.current || this.boundary)) {
        this.current = { index: this.next++, text: this.prefix + chunk, frame };
        this.boundary = false;
        this.prefix = '';
        updates.push({ word: this.current, started: true });
      } else if ((this.boundary || !this.current) && OPENING.test(chunk)) {
        this.prefix += chunk;
      } else if (this.current) {
        // a continuation, or punctuation (which belongs to the word before it even after a boundary)
        this.current.text += chunk;
        if (updates[updates.length - 1]?.word !== this.current) updates.push({ word: this.current, started: false });
      }
      // punctuation before any word: nothing to say
    });
    return updates;
  }

  /** Close the open word: the next piece starts a new one even without a boundary (after an interruption). */
  close(): void {
    this.current = undefined;
    this.boundary = false;
    this.prefix = '';
  }
}
