/**
 * Turns an NPC's output stream into speech events. The engine only gives audio and text, so "speaking" is
 * inferred: a frame with energy or a text piece starts speech, and a run of quiet frames ends it. An
 * interruption is reported by the engine when it knows (the rehearsal engine), else inferred: speech that ends
 * while the NPC is hearing a player. An engine that pauses for a talk-over says so ('paused' … 'resumed'); the
 * quiet in between is neither the end of its speech nor an interruption, and the pause is passed on as such.
 */
import type { NpcEvent } from '../../protocol/messages.ts';
import type { EngineEvent } from '../engines/contract.ts';
import { rms } from '../../protocol/dsp/level.ts';

export interface TrackerOptions {
  /** output RMS above which a frame counts as speech */
  speechRms?: number;
  /** quiet frames that end speech (5 × 80 ms = 400 ms: gaps between words and breaths do not end it) */
  hangoverFrames?: number;
  /** input RMS above which the NPC is hearing someone */
  hearingRms?: number;
}


export class SpeechTracker {
  speaking = false;
  private quiet = 0;
  private heardRecently = 0;
  private interruptedThisTurn = false;
  /** the engine said it paused its utterance and has not yet resumed or given it up */
  private paused = false;
  private readonly speechRms: number;
  private readonly hangover: number;
  private readonly hearingRms: number;

  constructor(opts: TrackerOptions = {}) {
    this.speechRms = opts.speechRms ?? 0.01;
    this.hangover = opts.hangoverFrames ?? 5;
    this.hearingRms = opts.hearingRms ?? 0.02;
  }

  update(frameIndex: number, output: Float32Array, text: string | undefined, input: Float32Array, engineEvents: readonly EngineEvent[] = []): NpcEvent[] {
    const events: NpcEvent[] = [];
    this.heardRecently = rms(input) > this.hearingRms ? 3 : Math.max(0, this.heardRecently - 1);
    const active = rms(output) > this.speechRms || (text !== undefined && text.trim() !== '');
    if (engineEvents.includes('interrupted')) {
      this.paused = false;
      if (this.speaking && !this.interruptedThisTurn) {
        events.push({ e: 'interrupted', i: frameIndex });
        this.interruptedThisTurn = true;
      }
    } else if (engineEvents.includes('paused') && this.speaking && !this.paused) {
      this.paused = true;
      events.push({ e: 'paused', i: frameIndex });
    } else if (engineEvents.includes('resumed') && this.paused) {
      this.paused = false;
      this.quiet = 0;
      events.push({ e: 'resumed', i: frameIndex });
    }
    if (active) {
      this.quiet = 0;
      if (!this.speaking) {
        this.speaking = true;
        this.interruptedThisTurn = false;
        events.push({ e: 'speech-started', i: frameIndex });
      }
    } else if (this.paused) {
      // held mid-utterance: it has not stopped speaking (it says 'resumed' or 'interrupted' when it knows)
    } else if (this.speaking && ++this.quiet >= this.hangover) {
      if (!this.interruptedThisTurn && this.heardRecently > 0 && this.quiet === this.hangover) {
        // it fell silent while a player was talking: the model yielded
        events.push({ e: 'interrupted', i: frameIndex - this.hangover + 1 });
      }
      this.speaking = false;
      events.push({ e: 'speech-ended', i: frameIndex - this.hangover + 1 });
    }
    return events;
  }
}
