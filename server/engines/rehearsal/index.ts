/**
 * The rehearsal engine folder's entry: configFromEnv(env) and start(config, log), as every engine folder exports
 * them; createEngine() for WorkerPoolEngine (one engine per worker thread); startRehearsalEngine() for tests and
 * benches that pick their own options.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.ts';
import { WorkerPoolEngine } from '../worker/pool.ts';
import { rehearsalWorkerCount, type RehearsalConfig } from './config.ts';
import { RehearsalEngine, type RehearsalOptions } from './engine.ts';

export { RehearsalEngine, DEFAULT_CAPACITY_PER_WORKER, type RehearsalOptions, type UtteranceRecord } from './engine.ts';
export { DEFAULT_TURN_TAKING, type TurnTakingOptions } from './turn-taking.ts';
export { configFromEnv, rehearsalWorkerCount, type RehearsalConfig } from './config.ts';

/** This module, for WorkerPoolEngine.start({ module }). */
export const REHEARSAL_MODULE = fileURLToPath(import.meta.url);

/** Runs in an engine worker; `log` writes through the main thread's logger. */
export function createEngine(options: RehearsalOptions = {}, log?: Logger): Promise<RehearsalEngine> {
  return RehearsalEngine.create(options ?? {}, log);
}

export interface StartRehearsalOptions {
  /** worker threads; default and maximum: the number of cores */
  workers?: number;
  engine?: RehearsalOptions;
  stepTimeoutMs?: number;
  log?: Logger;
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

export function start(config: RehearsalConfig, log: Logger): Promise<WorkerPoolEngine> {
  return startRehearsalEngine({ workers: config.workers, log });
}
