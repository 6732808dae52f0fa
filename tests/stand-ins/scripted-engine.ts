/**
 * Stand-in for a duplex model (PersonaPlex) in server tests, until and beside the real engines.
 *
 * 'script' mode: speaks a recorded line with known word timings — each word a tone burst at a pitch set by the
 * voice, separated by silent gaps — and emits one '▁word' text piece at the frame where the word's audio starts
 * minus the declared text lead. It stops within one frame when it hears the user (input RMS over a threshold)
 * and reports 'interrupted'. It greets when a session opens and says its line again after the user stops.
 * 'echo' mode: the output frame is the input frame, so tests can observe exactly what the NPC heard; a step the
 * scene marked `floorElsewhere` (server/scenes/floor.ts) says so in its text piece ('▁floor-elsewhere').
 * Faults on request: a persona id that fails every step, or one that hangs the worker.
 */
import { engineError, type DuplexEngine, type Persona, type SessionId, type StepInput, type StepOutput } from '../../server/engines/contract.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../protocol/frame.ts';
import { rms } from '../support/audio.ts';

export interface ScriptedEngineOptions {
  mode?: 'script' | 'echo';
  capacity?: number;
  textLeadFrames?: number;
  /** words of the line, each with its length in frames; a one-frame gap follows each word */
  words?: { text: string; frames: number }[];
  failPersonaId?: string;
  /** the first `steps` steps of sessions of this persona fail (a transient fault), later ones work */
  failFirst?: { personaId: string; steps: number };
  hangPersonaId?: string;
  /** busy-wait this long in every step, to simulate a slow engine */
  stepDelayMs?: number;
  /** frames to wait in open(), reporting progress, to simulate a prompt phase */
  openSteps?: number;
}

export const DEFAULT_WORDS = [
  { text: 'Reactor', frames: 4 },
  { text: 'core', frames: 3 },
  { text: 'is', frames: 2 },
  { text: 'failing', frames: 4 },
];

interface Session {
  persona: Persona;
  /** frame index within the current utterance, or -1 when silent */
  pos: number;
  heardFrames: number;
  quietFrames: number;
  pitch: number;
  phase: number;
  steps: number;
}

export class ScriptedEngine implements DuplexEngine {
  readonly name = 'scripted-stand-in';
  readonly label = 'test stand-in (scripted tone bursts)';
  readonly capacity: number;
  readonly textLeadFrames: number;
  private readonly mode: 'script' | 'echo';
  private readonly words: { text: string; frames: number; start: number }[];
  private readonly length: number;
  private sessions = new Map<SessionId, Session>();
  private next = 1;
  private transientFailures = 0;

  constructor(private readonly opts: ScriptedEngineOptions = {}) {
    this.mode = opts.mode ?? 'script';
    this.capacity = opts.capacity ?? 8;
    this.textLeadFrames = opts.textLeadFrames ?? 1;
    // The utterance opens with `textLeadFrames` silent frames so the first piece can lead its word too.
    let t = this.textLeadFrames;
    this.words = (opts.words ?? DEFAULT_WORDS).map((w) => {
      const start = t;
      t += w.frames + 1;
      return { ...w, start };
    });
    this.length = t;
  }

  async open(persona: Persona, options?: { onProgress?: (p: { phase: string; fraction: number }) => void }): Promise<SessionId> {
    const steps = this.opts.openSteps ?? 0;
    for (let i = 0; i < steps; i++) {
      await new Promise((r) => setTimeout(r, 5));
      options?.onProgress?.({ phase: 'text prompt', fraction: (i + 1) / steps });
    }
    const id = this.next++;
    const voiceIndex = persona.voice.kind === 'builtin' ? persona.voice.id.charCodeAt(4) - 48 : 0;
    this.sessions.set(id, { persona, pos: 0, heardFrames: 0, quietFrames: 0, pitch: 180 + 20 * voiceIndex, phase: 0, steps: 0 });
    return id;
  }

  async step(batch: StepInput[]): Promise<StepOutput[]> {
    if (this.opts.stepDelayMs) {
      const until = Date.now() + this.opts.stepDelayMs;
      while (Date.now() < until);
    }
    return batch.map((b) => this.stepOne(b));
  }

  private stepOne({ session, input, floorElsewhere }: StepInput): StepOutput {
    const s = this.sessions.get(session);
    if (!s) return { session, output: new Float32Array(FRAME_SAMPLES), error: engineError('rejected', `unknown session ${session}`) };
    if (this.opts.failFirst && s.persona.id === this.opts.failFirst.personaId && this.transientFailures < this.opts.failFirst.steps) {
      this.transientFailures++;
      return { session, output: new Float32Array(FRAME_SAMPLES), error: engineError('failed', `transient stand-in fault ${this.transientFailures} for ${s.persona.id}`) };
    }
    if (s.persona.id === this.opts.failPersonaId) return { session, output: new Float32Array(FRAME_SAMPLES), error: engineError('failed', `stand-in fault for ${s.persona.id}`) };
    if (s.persona.id === this.opts.hangPersonaId) for (;;);
    s.steps++;
    if (this.mode === 'echo') return { session, output: new Float32Array(input), ...(floorElsewhere ? { text: '▁floor-elsewhere' } : {}) };

    const output = new Float32Array(FRAME_SAMPLES);
    const events: StepOutput['events'] = [];
    const hearing = rms(input) > 0.02;
    s.heardFrames = hearing ? s.heardFrames + 1 : 0;
    s.quietFrames = hearing ? 0 : s.quietFrames + 1;

    if (s.pos >= 0 && s.heardFrames >= 1) {
      s.pos = -1; // barge-in: yield at once
      events.push('interrupted');
    } else if (s.pos < 0 && s.quietFrames === 6 && s.steps > 6) {
      s.pos = 0; // the user stopped: take the turn
    }

    let text: string | undefined;
    if (s.pos >= 0) {
      const word = this.words.find((w) => s.pos >= w.start && s.pos < w.start + w.frames);
      if (word) {
        for (let i = 0; i < FRAME_SAMPLES; i++) {
          output[i] = 0.3 * Math.sin(s.phase);
          s.phase += (2 * Math.PI * s.pitch) / SAMPLE_RATE;
        }
      }
      const leading = this.words.find((w) => w.start - this.textLeadFrames === s.pos);
      if (leading) text = `▁${leading.text}`;
      s.pos++;
      if (s.pos >= this.length) s.pos = -1;
    }
    return { session, output, text, events: events.length ? events : undefined };
  }

  /** Where each word's audio starts, in frames from the utterance start: the ground truth for timing tests. */
  get wordStarts() {
    return this.words.map((w) => ({ text: w.text, frame: w.start }));
  }

  async close(session: SessionId): Promise<void> {
    this.sessions.delete(session);
  }

  async dispose(): Promise<void> {
    this.sessions.clear();
  }
}

export function createEngine(options: ScriptedEngineOptions): DuplexEngine {
  return new ScriptedEngine(options);
}
