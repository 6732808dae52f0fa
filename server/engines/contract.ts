/**
 * The duplex engine contract. Every engine (the CPU rehearsal default, a PersonaPlex server pool, PersonaPlex
 * in onnxruntime-node, and the stand-ins in tests/) keeps it, so lip-sync and captions are built against what
 * the model really sends: one 80 ms frame in, one 80 ms frame out, at most one text piece per frame. What a
 * session is opened with (Persona, its voice) is the model's business: server/persona/.
 */

import type { Persona } from '../persona/persona.ts';

export type { Persona };

export interface OpenProgress {
  /** e.g. 'voice prompt', 'text prompt', 'loading' */
  phase: string;
  /** 0..1 */
  fraction: number;
}

export interface OpenOptions {
  onProgress?: (p: OpenProgress) => void;
  signal?: AbortSignal;
}

/** Opaque per-engine session handle. */
export type SessionId = number;

export interface StepInput {
  session: SessionId;
  /** 1920 float samples in [-1, 1], the NPC's hearing mix for this frame */
  input: Float32Array;
  /**
   * The scene gave the player turn this NPC heard to another NPC (server/scenes/floor.ts): an engine that can be
   * told does not take that turn. The model engines cannot; the server lowers the player in their ears instead.
   */
  floorElsewhere?: boolean;
}

/**
 * Things an engine knows about its own turn-taking; the server infers speech start/end from the audio.
 *   interrupted  it gave up the utterance it was speaking (a barge-in)
 *   paused       it fell quiet mid-utterance because someone spoke over it, and may carry on: the quiet that
 *                follows is not the end of its speech (nor, by itself, an interruption)
 *   resumed      it carries on with the paused utterance
 */
export type EngineEvent = 'interrupted' | 'paused' | 'resumed';

export interface StepOutput {
  session: SessionId;
  /** 1920 float samples in [-1, 1] */
  output: Float32Array;
  /** zero or one SentencePiece-style piece; '▁' marks the start of a word */
  text?: string;
  events?: EngineEvent[];
  /**
   * Ground truth, from engines that know it (the rehearsal engine's TTS): phonemes whose audio starts in this
   * frame, `offset` in samples from the frame start. Used to measure lip-sync accuracy; model engines omit it.
   */
  phonemes?: { ipa: string; offset: number }[];
  /** set when this session failed this step; the others are unaffected */
  error?: EngineError;
}

/**
 * What went wrong, typed where it happened so no caller has to guess from the message text:
 * - timeout: no answer within the deadline (a worker step, a handshake)
 * - crashed: the process or thread holding the session died; the session is gone
 * - busy: no capacity now; retrying later may succeed
 * - unreachable: the host could not be contacted (network, DNS, TLS, refused)
 * - rejected: the request itself is bad (bad frame, unknown session, prompt too long); retrying it will not help
 * - failed: anything else the engine reported (the model or server said so)
 */
export type EngineErrorKind = 'timeout' | 'crashed' | 'busy' | 'unreachable' | 'rejected' | 'failed';

/** Plain data, so it crosses worker threads unchanged. */
export interface EngineError {
  kind: EngineErrorKind;
  message: string;
}

export function engineError(kind: EngineErrorKind, message: string): EngineError {
  return { kind, message };
}

/** Thrown (by `open`, or inside an engine) when the failure's kind is known where it arises. */
export class EngineFailure extends Error implements EngineError {
  override name = 'EngineFailure';
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const KINDS: readonly EngineErrorKind[] = ['timeout', 'crashed', 'busy', 'unreachable', 'rejected', 'failed'];

export function isEngineErrorKind(x: unknown): x is EngineErrorKind {
  return typeof x === 'string' && (KINDS as readonly string[]).includes(x);
}

/** The typed error for anything caught: an EngineFailure keeps its kind, anything else is `fallback`. */
export function toEngineError(err: unknown, fallback: EngineErrorKind = 'failed'): EngineError {
  if (err instanceof EngineFailure) return { kind: err.kind, message: err.message };
  if (err && typeof err === 'object' && isEngineErrorKind((err as EngineError).kind) && typeof (err as EngineError).message === 'string') {
    return { kind: (err as EngineError).kind, message: (err as EngineError).message };
  }
  return { kind: fallback, message: err instanceof Error ? err.message : String(err) };
}

export interface DuplexEngine {
  /** short id, e.g. 'rehearsal' */
  readonly name: string;
  /** honest label for players and HUDs */
  readonly label: string;
  /** sessions it can step in real time */
  readonly capacity: number;
  /** frames by which a text piece leads the audio of the word it starts */
  readonly textLeadFrames: number;
  open(persona: Persona, options?: OpenOptions): Promise<SessionId>;
  /** Step many sessions by one frame each, in one call. Resolves with one output per input, same order. */
  step(batch: StepInput[]): Promise<StepOutput[]>;
  close(session: SessionId): Promise<void>;
  dispose(): Promise<void>;
}
