/**
 * Output frames from the server land here at network pace and leave at tick pace, one per step. Playback starts
 * once `target` frames are queued, and restarts that way after an underrun (silence meanwhile); beyond `max`
 * queued frames the oldest are dropped, so latency stays bounded after a burst. A dropped frame's text piece
 * moves onto the next frame, so captions and visemes lose no words.
 */
import type { DecodedFrame } from './stream-codec.ts';

export interface PlaybackQueueStats {
  underruns: number;
  dropped: number;
  depth: number;
}

export class PlaybackQueue {
  private queue: DecodedFrame[] = [];
  private playing = false;
  underruns = 0;
  dropped = 0;

  constructor(
    readonly target = 2,
    readonly max = 8,
  ) {
    if (!(target >= 1 && max >= target)) throw new Error(`jitter buffer needs 1 <= target (${target}) <= max (${max})`);
  }

  push(frame: DecodedFrame): void {
    this.queue.push(frame);
    while (this.queue.length > this.max) {
      const old = this.queue.shift()!;
      this.dropped++;
      if (old.text !== undefined) this.carryText(old.text);
    }
  }

  private carryText(text: string) {
    const i = this.queue.findIndex((f) => f.text === undefined);
    if (i >= 0) this.queue[i] = { ...this.queue[i]!, text };
    // every queued frame already carries a piece: the oldest piece is lost (at most `max` words behind)
  }

  /** The next frame to play, or null (play silence) while buffering. */
  pop(): DecodedFrame | null {
    if (!this.playing) {
      if (this.queue.length < this.target) return null;
      this.playing = true;
    }
    const f = this.queue.shift();
    if (!f) {
      this.playing = false;
      this.underruns++;
      return null;
    }
    return f;
  }

  get depth(): number {
    return this.queue.length;
  }

  stats(): PlaybackQueueStats {
    return { underruns: this.underruns, dropped: this.dropped, depth: this.queue.length };
  }
}
