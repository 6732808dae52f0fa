/**
 * The closed loop an NPC on loudspeakers lives in, simulated frame by frame on one 80 ms grid:
 *
 *   engine step (rehearsal NPC) → sent to the player (the server's echo gate notes it) → the client's playout
 *   buffer → speakers → simulated room (tests/echo/support/room.ts) → microphone, plus the player's speech →
 *   the plugin's echo canceller (reference: what the speakers played) → uplink → the server's echo gate →
 *   the NPC's hearing mix → the next engine steps.
 *
 * Stands in for the browser, the network and the room (none exist here); the canceller, the gate and the engine
 * are the real ones. Latencies are in whole frames (playout and uplink), the room adds its own delay and tail.
 */
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { Aec3Canceller, type Aec3CancellerOptions } from '../../../plugin/aec/aec3-canceller.ts';
import type { Persona, SessionId } from '../../../server/engines/contract.ts';
import { RehearsalEngine } from '../../../server/engines/rehearsal/engine.ts';
import { PlayerEchoGate, speexModule, type EchoGateOptions } from '../../../server/voice/echo-gate.ts';
import { aec3Module } from './aec3-module.ts';
import { EchoPath, type EchoPathSpec } from './room.ts';

export interface LoopOptions {
  path: EchoPathSpec;
  /** the plugin's canceller on the client (AEC3, as the capture worklet runs it) */
  clientAec: boolean;
  /** its settings (defaults otherwise) */
  aec?: Aec3CancellerOptions;
  /** the server's echo gate */
  serverGate: boolean;
  /** its settings (defaults otherwise) */
  gate?: EchoGateOptions;
  /** frames between an NPC frame leaving the engine and reaching the speakers (network + playout buffer) */
  playoutFrames?: number;
  /** frames between the mic capturing a frame and it entering the hearing mix (network + server jitter buffer) */
  uplinkFrames?: number;
  /** the player's voice at the mic, on the client's sample clock (silence when absent) */
  player?: Float32Array;
  /** switch the room to another path at this frame */
  changeAt?: { frame: number; path: EchoPathSpec };
}

export interface LoopFrame {
  /** NPC output this frame, its events, and what entered its hearing mix */
  out: Float32Array;
  events: string[];
  heard: Float32Array;
  /** the echo part alone of the mic (what the room returned) and the mic after the client's canceller */
  echo: Float32Array;
  micOut: Float32Array;
}

/** One player and one NPC session in the loop. Call `step()` once per 80 ms frame. */
export class EchoLoop {
  readonly frames: LoopFrame[] = [];
  private readonly room: EchoPath;
  private readonly aec: Aec3Canceller | null;
  private readonly gate: PlayerEchoGate | null;
  private readonly playQ: Float32Array[] = [];
  private readonly upQ: Float32Array[] = [];
  private k = 0;
  /** the player's voice at the mic (settable mid-run: the test decides when the player cuts in) */
  player: Float32Array | undefined;

  constructor(
    readonly engine: RehearsalEngine,
    public session: SessionId,
    readonly o: LoopOptions,
  ) {
    this.room = new EchoPath(o.path);
    this.player = o.player;
    this.aec = o.clientAec ? new Aec3Canceller(aec3Module(), o.aec) : null;
    this.gate = o.serverGate ? new PlayerEchoGate(speexModule(), o.gate) : null;
    for (let i = 0; i < (o.playoutFrames ?? 3); i++) this.playQ.push(new Float32Array(FRAME_SAMPLES));
    for (let i = 0; i < (o.uplinkFrames ?? 3); i++) this.upQ.push(new Float32Array(FRAME_SAMPLES));
  }

  /** Frames stepped so far (the engine's timeline). */
  get frame(): number {
    return this.k;
  }

  async step(): Promise<LoopFrame> {
    const k = this.k++;
    // server: the uplink that arrives now, through the gate, is what the NPC hears (weight 1: the player stands
    // a metre away, facing it)
    const arrived = this.upQ.shift()!;
    const heard = this.gate ? this.gate.filter(arrived).slice() : arrived;
    const [o] = await this.engine.step([{ session: this.session, input: heard }]);
    const out = o!.output.slice();
    this.gate?.sent(out, 1);
    // client: the speakers play what arrived a playout buffer ago; the mic hears the room and the player
    this.playQ.push(out);
    const played = this.playQ.shift()!;
    if (this.o.changeAt && k === this.o.changeAt.frame) this.room.change(this.o.changeAt.path);
    const echo = this.room.process(played);
    const mic = echo.slice();
    const p = this.player;
    if (p) for (let i = 0, s = k * FRAME_SAMPLES; i < FRAME_SAMPLES && s + i < p.length; i++) mic[i]! += p[s + i]!;
    for (let i = 0; i < FRAME_SAMPLES; i++) mic[i] = Math.max(-1, Math.min(1, mic[i]!)); // the ADC clips
    let micOut: Float32Array = mic;
    if (this.aec) {
      this.aec.pushReference(played);
      micOut = this.aec.process(mic.slice());
    }
    this.upQ.push(micOut);
    const f: LoopFrame = { out, events: (o!.events ?? []) as string[], heard, echo, micOut };
    this.frames.push(f);
    return f;
  }

  /** Frames from the player's mic to the engine's input. */
  get uplinkDelay(): number {
    return this.o.uplinkFrames ?? 3;
  }

  dispose(): void {
    this.aec?.dispose();
    this.gate?.dispose();
  }
}

/** A persona whose greeting is a long monologue, so that one session speaks for half a minute unprompted. */
export function monologuePersona(seed: number, lines: readonly string[]): Persona {
  const greeting = lines.join(' ').slice(0, 590);
  return {
    id: `monologue-${seed}`,
    name: 'Captain Okafor',
    textPrompt: 'You are the captain.',
    voice: { kind: 'builtin', id: (['NATF2', 'NATM1', 'VARF3', 'VARM0'] as const)[seed % 4]! },
    seed,
    rehearsal: { greeting, lines: [...lines], backchannels: ['Uh-huh.', 'I see.'], afterInterruption: 'Sorry, go on.' },
  };
}

export { RehearsalEngine };
