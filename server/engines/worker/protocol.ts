/**
 * The messages between a WorkerHost (host.ts) and the module it runs (serve.ts). Every request carries an id and
 * gets exactly one reply; an open may send progress first; a worker's log records travel as pino JSON lines.
 */
import type { EngineError } from '../contract.ts';

export interface HostMessage<Req> {
  id: number;
  body: Req;
}

export type WorkerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: EngineError }
  | { id: number; progress: unknown }
  | { log: string };

/** What the host passes a worker at spawn. */
export interface WorkerBoot {
  /** the module to run, as a file URL */
  module: string;
  /** the host logger's level, so a worker filters its own records before posting them */
  level: string;
}
