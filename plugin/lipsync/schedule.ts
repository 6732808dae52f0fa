/**
 * The viseme keys received for one NPC voice stream, in stream-sample order. Tracks replace everything from their
 * `from` on (the server revises a word's timing when the next word arrives); an interruption flushes everything not
 * yet heard. Keys far behind the playhead are pruned so memory stays flat over a long conversation.
 */
import { VISEMES, type VisemeKey, type VisemeTrack } from '../../protocol/visemes.ts';

const SIL = 0;
const isKey = (k: unknown): k is VisemeKey =>
  !!k &&
  typeof k === 'object' &&
  Number.isFinite((k as VisemeKey).at) &&
  Number.isInteger((k as VisemeKey).v) &&
  (k as VisemeKey).v >= 0 &&
  (k as VisemeKey).v < VISEMES.length;

export class VisemeSchedule {
  private list: VisemeKey[] = [];

  get keys(): readonly VisemeKey[] {
    return this.list;
  }

  /** Apply a received track. Malformed keys are skipped; a malformed track changes nothing. Returns keys kept. */
  apply(track: VisemeTrack): number {
    if (!track || !Number.isFinite(track.from) || !Array.isArray(track.keys)) return 0;
    const incoming = track.keys.filter((k) => isKey(k) && k.at >= track.from).map((k) => ({ at: k.at, v: k.v }));
    incoming.sort((a, b) => a.at - b.at);
    this.list.length = this.indexAfter(track.from - 1); // keep keys before `from`
    this.list.push(...incoming);
    return incoming.length;
  }

  /** Drop every key at or after `at` and rest from there: the audio after it will never play. */
  flush(at: number): void {
    if (!Number.isFinite(at)) return;
    this.list.length = this.indexAfter(at - 1);
    this.list.push({ at, v: SIL });
  }

  /** Forget keys that ended before `before` (the key in force at `before` is kept). */
  prune(before: number): void {
    const i = this.indexAfter(before) - 1; // last key at or before `before`
    if (i > 0) this.list.splice(0, i);
  }

  clear(): void {
    this.list = [];
  }

  /** Index of the first key with `at > t` (binary search). */
  indexAfter(t: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid].at <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
