/**
 * The rehearsal engine's entry points: createEngine() for WorkerPoolEngine (one engine per worker thread) and
 * startRehearsalEngine(), the server's default engine, which picks the worker count and starts the pool.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { WorkerPoolEngine } from '../worker/pool.ts';
import { RehearsalEngine, type RehearsalOptions } from './engine.ts';

export { RehearsalEngine, DEFAULT_CAPACITY_PER_WORKER, type RehearsalOptions, type UtteranceRecord } from './engine.ts';
export { DEFAULT_TURN_TAKING, type TurnTakingOptions } from './turn-taking.ts';

/** This module, for WorkerPoolEngine.start({ module }). */
export const REHEARSAL_MODULE = fileURLToPath(import.meta.url);

export function createEngine(options: RehearsalOptions = {}): Promise<RehearsalEngine> {
  return RehearsalEngine.create(options ?? {});
}

export interface StartRehearsalOptions {
  /** worker threads; default and maximum: the number of cores */
  workers?: number;
  engine?: RehearsalOptions;
  stepTimeoutMs?: number;
  log?: (line: string) => void;
}

export function rehearsalWorkerCount(requested?: number): number {
  const cores = Math.max(1, os.availableParallelism());
  if (requested === undefined) return cores;
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`rehearsal workers must be a positive integer, got ${requested}`);
  return Math.min(requested, cores);
}

export function startRehearsalEngine(opts: StartRehearsalOptions = {}): Promise<WorkerPoolEngine> {
  return WorkerPoolEngine.start({
    module: REHEARSAL_MODULE,
    options: opts.engine ?? {},
    workers: rehearsalWorkerCount(opts.workers),
    stepTimeoutMs: opts.stepTimeoutMs,
    log: opts.log,
  });
}
