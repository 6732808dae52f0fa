/**
 * Drives a rehearsal engine in-thread, frame by frame, through a scripted conversation, and keeps every output
 * on one timeline so tests can measure it like a listener would.
 */
import type { DuplexEngine, Persona, SessionId, StepOutput } from '../../server/engines/contract.ts';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { framesOf } from './audio-tools.ts';

export const CAPTAIN: Persona = {
  id: 'captain',
  name: 'Captain Okafor',
  textPrompt: 'You are the captain.',
  voice: { kind: 'builtin', id: 'NATF2' },
  seed: 7,
  rehearsal: {
    greeting: 'Welcome aboard, cadet. The reactor needs you.',
    lines: [
      'The coolant loop is failing and we have maybe an hour before the core overheats.',
      'Check the pressure valves on deck three, then report back to me.',
      'Stay calm. We have trained for exactly this kind of day.',
    ],
    backchannels: ['Uh-huh.', 'I see.', 'Right.'],
    afterInterruption: 'Sorry, go on.',
  },
};

export class Conversation {
  readonly outputs: StepOutput[] = [];
  readonly inputs: Float32Array[] = [];

  constructor(readonly engine: DuplexEngine, readonly session: SessionId) {}

  /** frames stepped so far */
  get frame(): number {
    return this.outputs.length;
  }

  async feed(frames: Float32Array[]): Promise<StepOutput[]> {
    const got: StepOutput[] = [];
    for (const input of frames) {
      const [o] = await this.engine.step([{ session: this.session, input }]);
      this.inputs.push(input);
      this.outputs.push(o!);
      got.push(o!);
    }
    return got;
  }

  silence(ms: number) {
    return this.feed(Array.from({ length: Math.round(ms / 80) }, () => new Float32Array(FRAME_SAMPLES)));
  }

  /** Play `samples` from the current frame on; returns the sample (on the session timeline) where it begins. */
  async say(samples: Float32Array): Promise<number> {
    const at = this.frame * FRAME_SAMPLES;
    await this.feed(framesOf(samples));
    return at;
  }

  /** The NPC's voice so far as one track. */
  get voice(): Float32Array {
    const v = new Float32Array(this.outputs.length * FRAME_SAMPLES);
    this.outputs.forEach((o, i) => v.set(o.output, i * FRAME_SAMPLES));
    return v;
  }

  /** First sample at or after `from` whose magnitude exceeds `threshold`, or -1. */
  firstSound(from = 0, threshold = 0.02): number {
    const v = this.voice;
    for (let i = from; i < v.length; i++) if (Math.abs(v[i]!) > threshold) return i;
    return -1;
  }

  /** Last sample before `to` whose magnitude exceeds `threshold`, or -1. */
  lastSound(to = Infinity, threshold = 0.02): number {
    const v = this.voice;
    for (let i = Math.min(to, v.length) - 1; i >= 0; i--) if (Math.abs(v[i]!) > threshold) return i;
    return -1;
  }

  /** Text pieces with the frames they came in. */
  get pieces(): { frame: number; piece: string }[] {
    return this.outputs.flatMap((o, frame) => (o.text ? [{ frame, piece: o.text }] : []));
  }

  /** Caption text of frames [from, to). */
  caption(from = 0, to = Infinity): string {
    return this.pieces
      .filter((p) => p.frame >= from && p.frame < to)
      .map((p) => p.piece.replace(/^▁/, ' '))
      .join('')
      .trim();
  }

  framesWithEvent(e: string): number[] {
    return this.outputs.flatMap((o, i) => (o.events?.includes(e as never) ? [i] : []));
  }
}
