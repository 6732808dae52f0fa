/**
 * Tells the server how far this player's speakers have played each NPC's voice (Played messages, from each
 * voice's samples-played clock), so the server knows which words this player actually heard (docs/scenes.md).
 * One message per NPC whose position moved past a frame since the last report, at most every `everyMs`.
 */
import { FRAME_SAMPLES } from '../../protocol/frame.ts';

export interface PlayedSource {
  readonly npc: string;
  /** samples played on the NPC's stream timeline (frame index × 1920 + offset) */
  readonly streamPosition: number;
}

export class PlayedReporter {
  private readonly last = new Map<string, number>();

  constructor(private readonly send: (npc: string, i: number) => boolean) {}

  /** Report every voice whose playback passed the end of a frame since the last report. */
  report(voices: Iterable<PlayedSource>): void {
    for (const v of voices) {
      const through = Math.floor(v.streamPosition / FRAME_SAMPLES) - 1;
      if (!Number.isFinite(through) || through < -1) continue;
      if (through <= (this.last.get(v.npc) ?? -2)) continue;
      if (this.send(v.npc, through)) this.last.set(v.npc, through);
    }
  }

  /** The NPC streams start over (a re-join): positions restart. */
  reset(): void {
    this.last.clear();
  }
}
