import type { EngineError, OpenProgress, Persona, SessionId, StepInput, StepOutput } from '../contract.ts';

/** Main thread → engine worker. */
export type HostRequest =
  | { id: number; op: 'init'; module: string; options: unknown }
  | { id: number; op: 'open'; persona: Persona }
  | { id: number; op: 'step'; batch: StepInput[] }
  | { id: number; op: 'close'; session: SessionId }
  | { id: number; op: 'dispose' };

export interface EngineInfo {
  name: string;
  label: string;
  capacity: number;
  textLeadFrames: number;
}

/** A request before the host numbers it. */
export type HostCommand = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Engine worker → main thread. */
export type WorkerReply =
  | { id: number; ok: true; info?: EngineInfo; session?: SessionId; outputs?: StepOutput[] }
  | { id: number; ok: false; error: EngineError }
  | { id: number; progress: OpenProgress };
