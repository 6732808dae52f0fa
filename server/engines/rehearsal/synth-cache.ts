/**
 * Synthesised lines, shared by the sessions of one engine worker (two NPCs with one voice and one line
 * synthesise it once) and released when no open session can say them any more. Requests go to the TTS
 * backend one at a time, most urgent first: a line due now, then greetings and other short lines, then the
 * rest, so that twenty NPCs opening together do not queue one's greeting behind another's monologue.
 */
import type { TtsBackend, VoiceProfile } from './tts.ts';
import { UtteranceLayout } from './utterance.ts';

export const Priority = { Now: 0, Soon: 1, Later: 2 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

export interface CacheEntry {
  readonly key: string;
  /** set once synthesised */
  layout: UtteranceLayout | null;
  error: Error | null;
  readonly ready: Promise<void>;
  priority: Priority;
  holders: Set<number>;
}

interface Job {
  entry: CacheEntry;
  voice: VoiceProfile;
  text: string;
  seq: number;
  settle: (layout: UtteranceLayout | null, error: Error | null) => void;
}

export class SynthCache {
  private entries = new Map<string, CacheEntry>();
  private queue: Job[] = [];
  private busy = false;
  private seq = 0;

  constructor(private readonly tts: TtsBackend) {}

  static key(voice: VoiceProfile, text: string): string {
    return `${voice.espeak}|${voice.pitch}|${voice.range}|${voice.rate}|${text}`;
  }

  /** The entry for this line, held by `holder` (a session) until release(); synthesis is queued if new. */
  get(holder: number, voice: VoiceProfile, text: string, priority: Priority): CacheEntry {
    const key = SynthCache.key(voice, text);
    let entry = this.entries.get(key);
    if (entry?.error) {
      // A failed synthesis is tried again, keeping who holds it.
      const holders = entry.holders;
      this.entries.delete(key);
      entry = this.get(holder, voice, text, priority);
      for (const h of holders) entry.holders.add(h);
      return entry;
    }
    if (!entry) {
      let settle!: Job['settle'];
      const ready = new Promise<void>((resolve) => {
        settle = (layout, error) => {
          entry!.layout = layout;
          entry!.error = error;
          resolve();
        };
      });
      entry = { key, layout: null, error: null, ready, priority, holders: new Set<number>() };
      this.entries.set(key, entry);
      this.queue.push({ entry, voice, text, seq: this.seq++, settle });
      this.pump();
    } else if (priority < entry.priority) {
      entry.priority = priority;
    }
    entry.holders.add(holder);
    return entry;
  }

  /** Forget `holder`'s claims; lines nobody holds are dropped (or never synthesised, if still queued). */
  release(holder: number) {
    for (const [key, e] of this.entries) {
      e.holders.delete(holder);
      if (e.holders.size === 0) this.entries.delete(key);
    }
    this.queue = this.queue.filter((j) => this.entries.get(j.entry.key) === j.entry);
  }

  /** Resolves when every line `holder` holds is synthesised (or failed). */
  async settled(holder: number): Promise<void> {
    await Promise.all([...this.entries.values()].filter((e) => e.holders.has(holder)).map((e) => e.ready));
  }

  get size(): number {
    return this.entries.size;
  }

  private pump() {
    if (this.busy || this.queue.length === 0) return;
    let best = 0;
    for (let i = 1; i < this.queue.length; i++) {
      const a = this.queue[i]!, b = this.queue[best]!;
      if (a.entry.priority < b.entry.priority || (a.entry.priority === b.entry.priority && a.seq < b.seq)) best = i;
    }
    const job = this.queue.splice(best, 1)[0]!;
    this.busy = true;
    this.tts
      .synthesize(job.voice, job.text)
      .then(
        (s) => job.settle(new UtteranceLayout(s), null),
        (err: unknown) => job.settle(null, err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        this.busy = false;
        this.pump();
      });
  }
}
